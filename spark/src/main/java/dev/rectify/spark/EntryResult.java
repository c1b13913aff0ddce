package dev.rectify.spark;

import java.io.Serializable;

/**
 * How one manifest entry ended on its executor: what the summary reports.
 *
 * @param line the entry's 1-based manifest line
 * @param status {@code done} (trained here, maybe resumed), {@code skipped} (an identical finished fine-tune's
 *     adapter was reused) or {@code failed}
 * @param adapterId the adapter's content-addressed id (the SDK's fingerprint), or null when failed
 * @param steps optimizer steps of the adapter, or -1
 * @param resumedAt the checkpoint step training resumed from, or -1
 * @param finalLoss the training loss of the last step, or NaN when unknown
 * @param seconds wall time of the task
 * @param output the adapter folder written
 * @param where the executor and device that ran it
 * @param error what went wrong, or null
 */
public record EntryResult(
        String name,
        int line,
        String status,
        String adapterId,
        int steps,
        int resumedAt,
        double finalLoss,
        double seconds,
        String output,
        String where,
        String error)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The entry trained in this run. */
    public static final String DONE = "done";
    /** The entry's identical fine-tune had finished before: its adapter was kept. */
    public static final String SKIPPED = "skipped";
    /** The entry failed (bad data, say); the others are unaffected. */
    public static final String FAILED = "failed";
}
