package dev.rectify.job;

import dev.rectify.adapter.Adapter;
import dev.rectify.core.CancellationToken;
import dev.rectify.core.RectifyException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A submitted fine-tune: its {@link #result()} completes with the adapter (or with the exception that ended the job:
 * {@link dev.rectify.train.TrainingCancelledException} when cancelled, {@link JobPausedException} when paused).
 * Listeners receive its {@link JobEvent}s; {@link #cancel()} and {@link #pause()} stop it within one step.
 * <pre>{@code
 * FineTuneJob job = service.submit(FineTuneRequest.of(base, examples, options));
 * job.addListener(e -> System.out.println(e.message()));
 * Adapter adapter = job.result().join();
 * }</pre>
 */
public final class FineTuneJob {
    private static final Logger LOG = LoggerFactory.getLogger(FineTuneJob.class);
    private final String id;
    private final String fingerprint;
    private final CancellationToken token;
    private final CompletableFuture<Adapter> result = new CompletableFuture<>();
    private final List<JobListener> listeners = new CopyOnWriteArrayList<>();
    private volatile JobStatus status = JobStatus.QUEUED;
    private volatile boolean pauseRequested;
    private volatile boolean reused;
    private volatile int resumedFromStep = -1;
    private volatile int step;

    FineTuneJob(String id, String fingerprint, CancellationToken token) {
        this.id = id;
        this.fingerprint = fingerprint;
        this.token = token;
    }

    /** The job's id in its store (the request's id, or the fingerprint). */
    public String id() {
        return id;
    }

    /** The id of the adapter this job makes: a content hash of base model, data and hyperparameters. */
    public String fingerprint() {
        return fingerprint;
    }

    public JobStatus status() {
        return status;
    }

    /** Completes with the adapter, or exceptionally with what ended the job. */
    public CompletableFuture<Adapter> result() {
        return result;
    }

    /** Waits for the adapter; throws the {@link RectifyException} that ended the job. */
    public Adapter await() {
        try {
            return result.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** Adds a listener for the events from now on; returns this job. */
    public FineTuneJob addListener(JobListener listener) {
        listeners.add(listener);
        return this;
    }

    public void removeListener(JobListener listener) {
        listeners.remove(listener);
    }

    /** Stops the job for good: at once when queued, within one step when running. */
    public void cancel() {
        token.cancel();
    }

    /** Stops the job at a checkpoint so that submitting it again resumes it (status {@link JobStatus#PAUSED}). */
    public void pause() {
        pauseRequested = true;
        token.cancel();
    }

    /** Whether an identical finished fine-tune's adapter was returned instead of training. */
    public boolean reused() {
        return reused;
    }

    /** The checkpoint step training resumed from, or -1 when it started from the beginning (or has not started). */
    public int resumedFromStep() {
        return resumedFromStep;
    }

    /** The last optimizer step reported. */
    public int step() {
        return step;
    }

    @Override
    public String toString() {
        return "FineTuneJob[" + id + ", " + status + "]";
    }

    // ---- for the service ------------------------------------------------------------------------------------------

    CancellationToken token() {
        return token;
    }

    boolean pauseRequested() {
        return pauseRequested;
    }

    void reused(boolean r) {
        reused = r;
    }

    void resumedFrom(int s) {
        resumedFromStep = s;
    }

    void status(JobStatus s) {
        status = s;
    }

    void emit(JobEvent e) {
        if (e.kind() == JobEvent.Kind.PROGRESS || e.kind() == JobEvent.Kind.CHECKPOINT) {
            step = Math.max(step, e.step());
        }
        for (JobListener l : listeners) {
            try {
                l.onEvent(e);
            } catch (RuntimeException x) {
                LOG.warn("job {}: event listener failed: {}", id, x.toString());
            }
        }
    }

    void complete(Adapter a) {
        result.complete(a);
    }

    void fail(Throwable t) {
        result.completeExceptionally(t);
    }
}
