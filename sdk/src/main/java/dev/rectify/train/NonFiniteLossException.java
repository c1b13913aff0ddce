package dev.rectify.train;

import dev.rectify.core.RectifyException;

/** Too many steps produced a NaN or infinite loss; the last good checkpoint is intact. */
public class NonFiniteLossException extends RectifyException {
    private static final long serialVersionUID = 1L;

    public NonFiniteLossException(String message) {
        super(message);
    }
}
