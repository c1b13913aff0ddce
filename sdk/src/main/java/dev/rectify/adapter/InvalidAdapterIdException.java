package dev.rectify.adapter;

import dev.rectify.core.InvalidArgumentException;

/** An adapter id that is not 16 to 128 lowercase hex digits (so it can never name a path outside the store). */
public class InvalidAdapterIdException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public InvalidAdapterIdException(String message) {
        super(message);
    }
}
