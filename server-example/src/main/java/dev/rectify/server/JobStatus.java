package dev.rectify.server;

import java.util.Locale;

/**
 * A fine-tuning job's status as OpenAI's API names it: validating_files → queued → running → succeeded | failed |
 * cancelled; a queued or running job can be paused (paused → queued when resumed). Stored in the database by its
 * {@link #wire()} name.
 */
public enum JobStatus {
    VALIDATING_FILES,
    QUEUED,
    RUNNING,
    PAUSED,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    /** The API's (and the database's) name: lower case. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the job has ended. */
    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    /** The status named {@code wire}. */
    public static JobStatus of(String wire) {
        return valueOf(wire.toUpperCase(Locale.ROOT));
    }
}
