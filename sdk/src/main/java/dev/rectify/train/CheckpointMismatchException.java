package dev.rectify.train;

import dev.rectify.core.InvalidArgumentException;

/** A checkpoint belongs to another base model or training plan and cannot resume this run. */
public class CheckpointMismatchException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public CheckpointMismatchException(String message) {
        super(message);
    }
}
