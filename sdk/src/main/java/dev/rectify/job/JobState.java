package dev.rectify.job;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Objects;

/**
 * What a {@link JobStore} keeps of a job: enough to decide, when the job is submitted again, whether it is done
 * (same fingerprint, succeeded, its output intact), resumable (same fingerprint, unfinished) or to start over.
 *
 * @param fingerprint the adapter id the job's inputs name, or null before it is known
 * @param step the last optimizer step reported (0 before the first)
 * @param totalSteps the run's total steps (0 before training starts)
 * @param output where the adapter is written, or null when the caller keeps it
 * @param error why it failed, or null
 */
public record JobState(
        String id,
        String fingerprint,
        JobStatus status,
        int step,
        int totalSteps,
        Path output,
        String error,
        Instant updated) {
    public JobState {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(updated, "updated");
    }

    /** This state with another status (and error), stamped now. */
    public JobState with(JobStatus s, String why) {
        return new JobState(id, fingerprint, s, step, totalSteps, output, why, Instant.now());
    }

    /** This state at {@code step} of {@code total}, stamped now. */
    public JobState at(int s, int total) {
        return new JobState(id, fingerprint, status, s, total, output, error, Instant.now());
    }
}
