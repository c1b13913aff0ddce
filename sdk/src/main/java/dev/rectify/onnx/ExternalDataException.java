package dev.rectify.onnx;

import dev.rectify.core.ModelFormatException;

/** A tensor's external data is missing, short, or points outside the model's folder. */
public class ExternalDataException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public ExternalDataException(String message) {
        super(message);
    }

    public ExternalDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
