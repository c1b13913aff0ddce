package dev.rectify.core;

/**
 * Base of every exception Rectify throws. Unchecked, like ONNX Runtime's Java API errors once wrapped:
 * each subclass names what went wrong and where (file, line, node, op or field) and what to do.
 */
public class RectifyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RectifyException(String message) {
        super(message);
    }

    public RectifyException(String message, Throwable cause) {
        super(message, cause);
    }
}
