package dev.rectify.core;

/** A caller-supplied value (an option, a prompt, an example) is out of range or malformed. */
public class InvalidArgumentException extends RectifyException {
    private static final long serialVersionUID = 1L;

    public InvalidArgumentException(String message) {
        super(message);
    }

    public InvalidArgumentException(String message, Throwable cause) {
        super(message, cause);
    }
}
