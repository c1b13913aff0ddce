package dev.rectify.job;

import dev.rectify.core.RectifyException;

/** Ends a paused job's result: the job stopped at a checkpoint and resumes when it is submitted again. */
public final class JobPausedException extends RectifyException {
    private static final long serialVersionUID = 1L;

    public JobPausedException(String message) {
        super(message);
    }
}
