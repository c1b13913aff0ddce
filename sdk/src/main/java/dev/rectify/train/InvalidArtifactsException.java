package dev.rectify.train;

import dev.rectify.core.ModelFormatException;

/** A folder of training artifacts is incomplete or inconsistent; the message names the file and what is wrong. */
public class InvalidArtifactsException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public InvalidArtifactsException(String message) {
        super(message);
    }

    public InvalidArtifactsException(String message, Throwable cause) {
        super(message, cause);
    }
}
