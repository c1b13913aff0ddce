package dev.rectify.train;

import dev.rectify.core.InvalidArgumentException;

/** A full fine-tuning selection matched no float weight of the model; the message lists some candidates. */
public class NoTrainableParametersException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    public NoTrainableParametersException(String message) {
        super(message);
    }
}
