package dev.rectify.server;

import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import dev.rectify.train.Trainer;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The fine-tuning queue, kept in the database: jobs are queued rows, a worker takes the oldest by an atomic claim
 * (queued → running where still queued), a queued job is cancelled by the same kind of change, and the queue's size
 * is bounded ({@code rectify.jobs.max-queued}). Workers wait on {@link #awaitWork} and are woken when a job is queued.
 * At startup {@link #recover} queues again the jobs an earlier run left running or queued.
 */
@Singleton
public class JobQueue {
    private final JobRepository jobs;
    private final JobEvents events;
    private final Settings settings;
    private final Object wake = new Object();

    public JobQueue(JobRepository jobs, JobEvents events, Settings settings) {
        this.jobs = jobs;
        this.events = events;
        this.settings = settings;
    }

    /**
     * Saves {@code j} as validating_files, runs {@code validate} (a failure fails the job with code invalid_file), then
     * queues it; throws a 429 {@link ApiException} when the queue is full.
     */
    public synchronized JobRecord enqueue(JobRecord j, Runnable validate, String validatingMessage) {
        long waiting = depth();
        if (waiting >= settings.jobMaxQueued()) {
            throw ApiException.busy("queue_full", "the fine-tuning queue is full (" + waiting + " jobs waiting, limit "
                    + settings.jobMaxQueued() + ", rectify.jobs.max-queued); try again later");
        }
        j.setStatus(JobStatus.VALIDATING_FILES.wire());
        jobs.save(j);
        events.message(j.getId(), validatingMessage);
        try {
            validate.run();
        } catch (RuntimeException e) {
            fail(j.getId(), "invalid_file", e.getMessage());
            return get(j.getId());
        }
        events.message(j.getId(), "Files validated, moving job to queued state");
        update(j.getId(), r -> r.setStatus(JobStatus.QUEUED.wire()));
        signal();
        return get(j.getId());
    }

    /** The oldest queued job, now claimed (running), if any; jobs cancelled while queued are ended on the way. */
    public Optional<JobRecord> claim() {
        for (JobRecord j : jobs.findByStatusInOrderBySeq(List.of(JobStatus.QUEUED.wire()))) {
            synchronized (this) {
                if (j.isCancelRequested() && cancelQueued(j.getId())) {
                    continue;
                }
                if (jobs.claim(j.getId(), JobStatus.QUEUED.wire(), JobStatus.RUNNING.wire()) == 1) {
                    return Optional.of(get(j.getId()));
                }
            }
        }
        return Optional.empty();
    }

    /** Cancels {@code id} if it is still queued or paused; false when a worker has it (or it has ended). */
    public synchronized boolean cancelQueued(String id) {
        boolean paused = jobs.claim(id, JobStatus.PAUSED.wire(), JobStatus.CANCELLED.wire()) == 1;
        if (!paused && jobs.claim(id, JobStatus.QUEUED.wire(), JobStatus.CANCELLED.wire()) != 1) {
            return false;
        }
        update(id, r -> r.setFinishedAt(System.currentTimeMillis()));
        events.message(id, paused ? "Job cancelled while paused" : "Job cancelled before it started");
        events.close(id);
        return true;
    }

    /** Pauses {@code id} if it is still queued; false when a worker has it (or it is not queued). */
    public synchronized boolean pauseQueued(String id) {
        if (jobs.claim(id, JobStatus.QUEUED.wire(), JobStatus.PAUSED.wire()) != 1) {
            return false;
        }
        update(id, r -> r.setPauseRequested(false));
        events.message(id, "Job paused");
        return true;
    }

    /** Marks a job its worker stopped at a checkpoint on request as paused. */
    public synchronized void paused(String id, int step) {
        update(id, r -> {
            r.setStatus(JobStatus.PAUSED.wire());
            r.setPauseRequested(false);
            r.setEstimatedFinish(null);
        });
        events.message(id, "Job paused" + (step > 0 ? " at the checkpoint of step " + step : ""));
    }

    /** Queues a paused job again (a worker resumes it from its checkpoint); false when it is not paused. */
    public synchronized boolean resume(String id) {
        if (jobs.claim(id, JobStatus.PAUSED.wire(), JobStatus.QUEUED.wire()) != 1) {
            return false;
        }
        events.message(id, "Job resumed: queued to continue from its last checkpoint");
        signal();
        return true;
    }

    /** Waits up to {@code millis} for a job to be queued. */
    public void awaitWork(long millis) throws InterruptedException {
        synchronized (wake) {
            wake.wait(millis);
        }
    }

    private void signal() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    /** Jobs waiting for a worker. */
    public long depth() {
        return jobs.countByStatus(JobStatus.QUEUED.wire()) + jobs.countByStatus(JobStatus.VALIDATING_FILES.wire());
    }

    public JobRecord get(String id) {
        return jobs.findById(id).orElseThrow();
    }

    /** Changes a job's row (read, change, write; serialised in this process). */
    public synchronized void update(String id, Consumer<JobRecord> change) {
        JobRecord r = jobs.findById(id).orElseThrow();
        change.accept(r);
        jobs.update(r);
    }

    /** Ends a job with {@code status}, after its last events are recorded; its live event streams complete. */
    public void finish(String id, JobStatus status, String code, String message) {
        update(id, r -> {
            r.setStatus(status.wire());
            r.setEstimatedFinish(null);
            r.setFinishedAt(System.currentTimeMillis());
            r.setErrorCode(code);
            r.setErrorMessage(message == null ? null : message.length() > 3900 ? message.substring(0, 3900) : message);
        });
        events.close(id);
    }

    /** Records the failure event, then fails the job; the message carries no server paths. */
    public void fail(String id, String code, String raw) {
        String message = ErrorText.scrub(raw, settings.dataDir());
        events.record(id, "error", "message", "Fine-tuning job failed: " + message, null);
        finish(id, JobStatus.FAILED, code, message);
    }

    /** Queues again the jobs an earlier run left running, queued or validating (or fails the running ones, if so set). */
    public void recover(Path runs) {
        List<String> open = List.of(JobStatus.RUNNING.wire(), JobStatus.QUEUED.wire(), JobStatus.VALIDATING_FILES.wire());
        for (JobRecord j : jobs.findByStatusInOrderBySeq(open)) {
            if (JobStatus.of(j.getStatus()) == JobStatus.RUNNING) {
                if (!settings.resumeOnRestart()) {
                    fail(j.getId(), "server_restarted", "the server restarted while the job was running "
                            + "(rectify.jobs.resume-on-restart is false)");
                    continue;
                }
                int step = Trainer.latestCheckpointStep(runs.resolve(j.getId()));
                events.message(j.getId(), "The server restarted while the job was running; resuming " + (step >= 0
                        ? "from checkpoint at step " + step : "from the start (no checkpoint was saved)"));
            } else {
                events.message(j.getId(), "The server restarted; the job is queued again");
            }
            update(j.getId(), r -> r.setStatus(JobStatus.QUEUED.wire()));
        }
        signal();
    }
}
