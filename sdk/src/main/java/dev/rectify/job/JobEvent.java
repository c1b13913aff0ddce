package dev.rectify.job;

import dev.rectify.train.TrainingProgress;
import java.time.Instant;

/**
 * Something that happened to a job: a status change, a progress report (after each optimizer step or evaluation),
 * a checkpoint saved, or a message (reuse of an identical adapter, resuming from a checkpoint).
 *
 * @param progress the report, for {@link Kind#PROGRESS}; else null
 * @param step the step a checkpoint holds, for {@link Kind#CHECKPOINT}; else the last step known
 */
public record JobEvent(
        String jobId, Kind kind, JobStatus status, TrainingProgress progress, int step, String message, Instant time) {
    /** What the event reports. */
    public enum Kind {
        STATUS,
        PROGRESS,
        CHECKPOINT,
        MESSAGE
    }

    static JobEvent status(String id, JobStatus s, int step, String message) {
        return new JobEvent(id, Kind.STATUS, s, null, step, message, Instant.now());
    }

    static JobEvent progress(String id, TrainingProgress p) {
        return new JobEvent(id, Kind.PROGRESS, JobStatus.RUNNING, p, p.step(), p.toString(), Instant.now());
    }

    static JobEvent checkpoint(String id, int step) {
        return new JobEvent(
                id, Kind.CHECKPOINT, JobStatus.RUNNING, null, step, "checkpoint saved at step " + step, Instant.now());
    }

    static JobEvent message(String id, JobStatus s, int step, String message) {
        return new JobEvent(id, Kind.MESSAGE, s, null, step, message, Instant.now());
    }
}
