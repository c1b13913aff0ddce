package dev.rectify.server;

import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import dev.rectify.train.RunCheckpoints;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The fine-tuning queue, kept in the database and shared by every replica on it: jobs are queued rows; a worker takes
 * the oldest queued job, or a running one whose lease has expired (its replica died), by locking its row
 * ({@code FOR UPDATE SKIP LOCKED}: two replicas never lock the same row) and setting it running under a lease
 * (lease_owner = this replica, lease_expires) that {@link #renew} extends while it trains. A queued job is cancelled by
 * an atomic status change, and the queue's size is bounded ({@code rectify.jobs.max-queued}). Workers wait on
 * {@link #awaitWork} and are woken when a job is queued (here, or by another replica's signal). Identical fine-tunes
 * train once: {@link #claimFingerprint} gives each fingerprint one training job.
 *
 * <p>Over 400 lines because it is one table's state machine (queue, claims with SKIP LOCKED, leases, fingerprints,
 * pause, cancel, finish): every transition is one guarded SQL statement, and splitting them would scatter the
 * invariants of the same rows.
 */
@Singleton
public class JobQueue {
    private final JobRepository jobs;
    private final JobEvents events;
    private final Settings settings;
    private final ReplicaDb db;
    private final Object wake = new Object();

    public JobQueue(JobRepository jobs, JobEvents events, Settings settings, ReplicaDb db) {
        this.jobs = jobs;
        this.events = events;
        this.settings = settings;
        this.db = db;
    }

    /** A job this replica has just claimed, with the status it had and the replica that held it before. */
    public record Claim(JobRecord job, String previousStatus, String previousOwner) {
        /** Whether the job was running on a replica whose lease expired (or on this one before a restart). */
        public boolean takenOver() {
            return JobStatus.RUNNING.wire().equals(previousStatus);
        }
    }

    /** What {@link #renew} found. */
    public enum LeaseState {
        HELD,
        CANCEL_REQUESTED,
        LOST
    }

    /** Who trains a fingerprint: this job ({@code owner} is its id), or another, still training or finished. */
    public record FingerprintClaim(String owner, boolean ownerSucceeded) {
        public boolean mine(String jobId) {
            return owner.equals(jobId);
        }
    }

    /**
     * Saves {@code j} as validating_files, runs {@code validate} (a failure fails the job with code invalid_file), then
     * queues it; throws a 429 {@link ApiException} when the queue is full.
     */
    public synchronized JobRecord enqueue(JobRecord j, Runnable validate, String validatingMessage) {
        long waiting = depth();
        if (waiting >= settings.jobMaxQueued()) {
            throw ApiException.busy(
                    "queue_full",
                    "the fine-tuning queue is full (" + waiting + " jobs waiting, limit " + settings.jobMaxQueued()
                            + ", rectify.jobs.max-queued); try again later");
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
        jobs.claim(j.getId(), JobStatus.VALIDATING_FILES.wire(), JobStatus.QUEUED.wire());
        signal();
        return get(j.getId());
    }

    /**
     * The oldest claimable job (queued, or running under an expired lease), now running under this replica's lease,
     * if any; jobs cancelled while waiting are ended on the way.
     */
    public Optional<Claim> claim() {
        while (true) {
            long now = System.currentTimeMillis();
            Object[] got = db.inTransaction(c -> {
                String id;
                String status;
                String owner;
                boolean cancel;
                try (PreparedStatement s =
                        c.prepareStatement("SELECT id, status, lease_owner, cancel_requested FROM rf_jobs "
                                + "WHERE status = 'queued' OR (status = 'running' AND (lease_expires IS NULL OR lease_expires < ?)) "
                                + "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED")) {
                    s.setLong(1, now);
                    try (ResultSet r = s.executeQuery()) {
                        if (!r.next()) {
                            return null;
                        }
                        id = r.getString(1);
                        status = r.getString(2);
                        owner = r.getString(3);
                        cancel = r.getBoolean(4);
                    }
                }
                if (cancel) {
                    try (PreparedStatement s =
                            c.prepareStatement("UPDATE rf_jobs SET status = 'cancelled', finished_at = ?, "
                                    + "lease_owner = NULL, lease_expires = NULL WHERE id = ?")) {
                        s.setLong(1, now);
                        s.setString(2, id);
                        s.executeUpdate();
                    }
                    return new Object[] {id, status, owner, Boolean.TRUE};
                }
                try (PreparedStatement s = c.prepareStatement(
                        "UPDATE rf_jobs SET status = 'running', lease_owner = ?, lease_expires = ? WHERE id = ?")) {
                    s.setString(1, settings.replicaId());
                    s.setLong(2, now + settings.lease().toMillis());
                    s.setString(3, id);
                    s.executeUpdate();
                }
                return new Object[] {id, status, owner, Boolean.FALSE};
            });
            if (got == null) {
                return Optional.empty();
            }
            String id = (String) got[0];
            if ((Boolean) got[3]) {
                events.message(
                        id,
                        JobStatus.QUEUED.wire().equals(got[1]) ? "Job cancelled before it started" : "Job cancelled");
                events.close(id);
                continue;
            }
            return Optional.of(new Claim(get(id), (String) got[1], (String) got[2]));
        }
    }

    /**
     * Extends this replica's lease on running job {@code id}; {@link LeaseState#LOST} when another replica holds it
     * now or the job is no longer running, {@link LeaseState#CANCEL_REQUESTED} when a cancel was asked for anywhere.
     */
    public LeaseState renew(String id) {
        return db.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE rf_jobs SET lease_expires = ? "
                    + "WHERE id = ? AND lease_owner = ? AND status = 'running'")) {
                s.setLong(1, System.currentTimeMillis() + settings.lease().toMillis());
                s.setString(2, id);
                s.setString(3, settings.replicaId());
                if (s.executeUpdate() != 1) {
                    return LeaseState.LOST;
                }
            }
            try (PreparedStatement s = c.prepareStatement("SELECT cancel_requested FROM rf_jobs WHERE id = ?")) {
                s.setString(1, id);
                try (ResultSet r = s.executeQuery()) {
                    return r.next() && r.getBoolean(1) ? LeaseState.CANCEL_REQUESTED : LeaseState.HELD;
                }
            }
        });
    }

    /** Whether this replica still holds the lease of running job {@code id}. */
    public boolean holds(String id) {
        return db.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT 1 FROM rf_jobs WHERE id = ? AND lease_owner = ? AND status = 'running'")) {
                s.setString(1, id);
                s.setString(2, settings.replicaId());
                try (ResultSet r = s.executeQuery()) {
                    return r.next();
                }
            }
        });
    }

    /** Lets the lease of running job {@code id} expire now (this replica stops): any replica may resume it at once. */
    public void release(String id) {
        db.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement("UPDATE rf_jobs SET lease_expires = 0 "
                    + "WHERE id = ? AND lease_owner = ? AND status = 'running'")) {
                s.setString(1, id);
                s.setString(2, settings.replicaId());
                return s.executeUpdate();
            }
        });
    }

    /**
     * Makes job {@code id} the one that trains {@code fingerprint}, unless another job holds it and is still
     * training under a live lease, or has succeeded. A holder that failed, was cancelled, or is not running under a
     * live lease (queued again, its replica gone) gives it up, so waiting never deadlocks.
     */
    public FingerprintClaim claimFingerprint(String fingerprint, String id) {
        for (int attempt = 0; ; attempt++) {
            try {
                return db.inTransaction(c -> {
                    long now = System.currentTimeMillis();
                    try (PreparedStatement s = c.prepareStatement(
                            "INSERT INTO rf_fingerprints (fingerprint, job_id, created_at) "
                                    + "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM rf_fingerprints WHERE fingerprint = ?)")) {
                        s.setString(1, fingerprint);
                        s.setString(2, id);
                        s.setLong(3, now);
                        s.setString(4, fingerprint);
                        if (s.executeUpdate() == 1) {
                            return new FingerprintClaim(id, false);
                        }
                    }
                    String owner = null;
                    try (PreparedStatement s =
                            c.prepareStatement("SELECT job_id FROM rf_fingerprints WHERE fingerprint = ? FOR UPDATE")) {
                        s.setString(1, fingerprint);
                        try (ResultSet r = s.executeQuery()) {
                            if (r.next()) {
                                owner = r.getString(1);
                            }
                        }
                    }
                    if (owner == null) {
                        throw new SQLException("the fingerprint row went away", "40001");
                    }
                    if (owner.equals(id)) {
                        return new FingerprintClaim(id, false);
                    }
                    String status = null;
                    long expires = 0;
                    try (PreparedStatement s =
                            c.prepareStatement("SELECT status, lease_expires FROM rf_jobs WHERE id = ?")) {
                        s.setString(1, owner);
                        try (ResultSet r = s.executeQuery()) {
                            if (r.next()) {
                                status = r.getString(1);
                                expires = r.getLong(2);
                            }
                        }
                    }
                    if (JobStatus.SUCCEEDED.wire().equals(status)) {
                        return new FingerprintClaim(owner, true);
                    }
                    if (JobStatus.RUNNING.wire().equals(status) && expires >= now) {
                        return new FingerprintClaim(owner, false);
                    }
                    takeFingerprint(c, fingerprint, id);
                    return new FingerprintClaim(id, false);
                });
            } catch (IllegalStateException e) {
                // two replicas inserted the same new fingerprint at once: the loser reads the winner's row
                if (attempt >= 3 || !(e.getCause() instanceof SQLException)) {
                    throw e;
                }
            }
        }
    }

    /** Job {@code id} trains {@code fingerprint} from now on (its earlier holder's adapter is gone). */
    public void forceFingerprint(String fingerprint, String id) {
        db.inTransaction(c -> {
            takeFingerprint(c, fingerprint, id);
            return null;
        });
    }

    private static void takeFingerprint(Connection c, String fingerprint, String id) throws SQLException {
        try (PreparedStatement s =
                c.prepareStatement("UPDATE rf_fingerprints SET job_id = ?, created_at = ? WHERE fingerprint = ?")) {
            s.setString(1, id);
            s.setLong(2, System.currentTimeMillis());
            s.setString(3, fingerprint);
            s.executeUpdate();
        }
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
        jobs.clearPauseRequest(id);
        events.message(id, "Job paused");
        return true;
    }

    /** Marks a job its worker stopped at a checkpoint on request as paused. */
    public synchronized void paused(String id, int step) {
        jobs.markPaused(id);
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

    /** Wakes this replica's idle workers (a job was queued here or by another replica). */
    public void signal() {
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

    /**
     * Ends a job with {@code status}, after its last events are recorded; its live event streams complete. A running
     * job is ended only by the replica holding its lease (false, and nothing changed, otherwise).
     */
    public boolean finish(String id, JobStatus status, String code, String message) {
        String text = message == null ? null : message.length() > 3900 ? message.substring(0, 3900) : message;
        int n = db.inTransaction(c -> {
            try (PreparedStatement s =
                    c.prepareStatement("UPDATE rf_jobs SET status = ?, finished_at = ?, error_code = ?, "
                            + "error_message = ?, estimated_finish = NULL, lease_owner = NULL, lease_expires = NULL "
                            + "WHERE id = ? AND (status <> 'running' OR lease_owner IS NULL OR lease_owner = ?)")) {
                s.setString(1, status.wire());
                s.setLong(2, System.currentTimeMillis());
                s.setString(3, code);
                s.setString(4, text);
                s.setString(5, id);
                s.setString(6, settings.replicaId());
                return s.executeUpdate();
            }
        });
        if (n == 1) {
            events.close(id);
        }
        return n == 1;
    }

    /** Records the failure event, then fails the job; the message carries no server paths. */
    public void fail(String id, String code, String raw) {
        String message = ErrorText.scrub(ErrorText.scrub(raw, settings.store().root()), settings.dataDir());
        events.record(id, "error", "message", "Fine-tuning job failed: " + message, null);
        finish(id, JobStatus.FAILED, code, message);
    }

    /**
     * At startup: ends the leases this replica held before it restarted (same {@code rectify.replica.id}) so its jobs
     * are claimed again at once, and queues again jobs left validating by a replica that stopped. Jobs running under
     * another replica's live lease are left alone; those whose lease expired are claimed by {@link #claim}.
     */
    public void recover() {
        long now = System.currentTimeMillis();
        db.inTransaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "UPDATE rf_jobs SET lease_expires = 0 WHERE status = 'running' AND lease_owner = ?")) {
                s.setString(1, settings.replicaId());
                s.executeUpdate();
            }
            return null;
        });
        for (JobRecord j : jobs.findByStatusInOrderBySeq(List.of(JobStatus.VALIDATING_FILES.wire()))) {
            if (j.getCreatedAt() < now - settings.lease().toMillis()
                    && jobs.claim(j.getId(), JobStatus.VALIDATING_FILES.wire(), JobStatus.QUEUED.wire()) == 1) {
                events.message(j.getId(), "The server restarted; the job is queued again");
            }
        }
        signal();
    }

    /** The message for a job taken over from a replica that stopped: where it resumes. */
    public String takeoverMessage(Claim claim, Path runs) {
        int step = RunCheckpoints.latestCheckpointStep(runs.resolve(claim.job().getId()));
        String who = claim.previousOwner() == null
                ? "The server restarted while the job was running"
                : "The replica running the job (" + claim.previousOwner() + ") stopped"
                        + (claim.previousOwner().equals(settings.replicaId()) ? " and restarted" : "");
        return who + "; resuming "
                + (step >= 0 ? "from checkpoint at step " + step : "from the start (no checkpoint was saved)")
                + " on replica " + settings.replicaId();
    }
}
