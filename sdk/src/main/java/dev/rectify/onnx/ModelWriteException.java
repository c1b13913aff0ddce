package dev.rectify.onnx;

import dev.rectify.core.RectifyException;

/** Writing a model failed (disk full, permissions...). The previous file, if any, is left intact. */
public class ModelWriteException extends RectifyException {
    private static final long serialVersionUID = 1L;

    public ModelWriteException(String message, Throwable cause) {
        super(message, cause);
    }
}
