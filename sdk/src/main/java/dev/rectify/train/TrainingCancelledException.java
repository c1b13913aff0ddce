package dev.rectify.train;

import dev.rectify.core.RectifyException;

/** The run was cancelled; its last checkpoint (if any) is intact and {@code resume} continues from it. */
public class TrainingCancelledException extends RectifyException {
    private static final long serialVersionUID = 1L;

    public TrainingCancelledException(String message) {
        super(message);
    }
}
