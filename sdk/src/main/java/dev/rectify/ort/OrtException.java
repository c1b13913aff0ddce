package dev.rectify.ort;

import dev.rectify.core.RectifyException;

/** An ONNX Runtime call failed. Carries ORT's own error code and message, and what Rectify was doing. */
public class OrtException extends RectifyException {
    private static final long serialVersionUID = 1L;

    private final OrtErrorCode code;

    public OrtException(OrtErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    /** ORT's error code (for example {@link OrtErrorCode#INVALID_ARGUMENT}). */
    public OrtErrorCode code() {
        return code;
    }
}
