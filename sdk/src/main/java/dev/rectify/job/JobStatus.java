package dev.rectify.job;

/** Where a fine-tuning job stands. {@link #PAUSED} jobs stopped at a checkpoint and resume when submitted again. */
public enum JobStatus {
    /** Submitted, waiting for a worker. */
    QUEUED,
    /** Training (or checking whether an identical adapter exists). */
    RUNNING,
    /** Stopped at a checkpoint by {@link FineTuneJob#pause()}; submitting the same job again resumes it. */
    PAUSED,
    /** The adapter is made (or an identical one was reused). */
    SUCCEEDED,
    /** Training failed; the state says why. */
    FAILED,
    /** Stopped by {@link FineTuneJob#cancel()}. */
    CANCELLED;

    /** Whether the job has ended for good ({@link #PAUSED} has not). */
    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
}
