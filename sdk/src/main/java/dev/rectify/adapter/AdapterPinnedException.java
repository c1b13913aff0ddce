package dev.rectify.adapter;

import dev.rectify.core.InvalidArgumentException;

/** A pinned adapter cannot be deleted; unpin it first. */
public class AdapterPinnedException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public AdapterPinnedException(String message) {
        super(message);
    }
}
