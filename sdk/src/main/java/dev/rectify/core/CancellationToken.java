package dev.rectify.core;

import java.util.concurrent.atomic.AtomicBoolean;

/** Cancels a running fine-tune from another thread; the run stops within one step and keeps its last checkpoint. */
public final class CancellationToken {
    private final AtomicBoolean cancelled = new AtomicBoolean();

    /** Asks the run to stop. */
    public void cancel() {
        cancelled.set(true);
    }

    public boolean isCancelled() {
        return cancelled.get();
    }
}
