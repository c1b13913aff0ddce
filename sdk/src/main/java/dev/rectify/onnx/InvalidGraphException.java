package dev.rectify.onnx;

import dev.rectify.core.ModelFormatException;

/**
 * A graph is not well formed for what was asked of it: a cycle, two producers of one tensor, a missing or
 * mistyped attribute. The message names the node and attribute or tensor at fault.
 */
public class InvalidGraphException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public InvalidGraphException(String message) {
        super(message);
    }
}
