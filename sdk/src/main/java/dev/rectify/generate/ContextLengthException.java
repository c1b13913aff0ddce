package dev.rectify.generate;

import dev.rectify.core.InvalidArgumentException;

/** A prompt does not fit the model's context window. */
public class ContextLengthException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public ContextLengthException(int promptIndex, int tokens, int context) {
        super("prompt " + promptIndex + " has " + tokens + " tokens but the model's context holds " + context
                + " (leave room for at least one new token: shorten the prompt)");
    }
}
