package dev.rectify.train;

import dev.rectify.core.RectifyException;

/** A training checkpoint asked for by step does not exist: it was never saved, or has been deleted since. */
public class CheckpointNotFoundException extends RectifyException {
    private static final long serialVersionUID = 1L;

    public CheckpointNotFoundException(String message) {
        super(message);
    }
}
