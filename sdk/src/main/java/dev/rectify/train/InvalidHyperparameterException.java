package dev.rectify.train;

import dev.rectify.core.InvalidArgumentException;

/** A named hyperparameter that is unknown or has a bad value; {@link #name()} is the name as the caller wrote it. */
public final class InvalidHyperparameterException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;
    private final String name;

    public InvalidHyperparameterException(String name, String message) {
        super(message);
        this.name = name;
    }

    /** The hyperparameter's name as given (ours or an alias), or null when not known. */
    public String name() {
        return name;
    }
}
