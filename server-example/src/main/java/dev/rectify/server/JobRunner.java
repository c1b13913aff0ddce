package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.job.FineTuneJob;
import dev.rectify.job.FineTuneRequest;
import dev.rectify.job.FineTuneService;
import dev.rectify.job.Fingerprint;
import dev.rectify.job.JobEvent;
import dev.rectify.job.JobPausedException;
import dev.rectify.model.BaseModel;
import dev.rectify.server.db.AdapterRecord;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.RunCheckpoints;
import dev.rectify.train.TrainingCancelledException;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs claimed jobs through the SDK's job service ({@code rectify.jobs.concurrency} workers): each job's progress
 * becomes metrics events and checkpoint records, a finished job's adapter is registered and served at once. Each job
 * runs under a lease in the database that a timer renews every third of {@code rectify.replica.lease}; a lost lease
 * (another replica took the job over) stops the job here without writing its state, and a cancel asked for on any
 * replica (a signal, or the flag the renewal reads) stops it at its next step. A job whose fine-tune an identical job
 * is training waits for it and reuses its adapter. On shutdown running jobs are paused at a checkpoint and their
 * leases released, so that another replica (or the next start) resumes them at once.
 *
 * <p>Over 400 lines because it is a replica's worker loop (claim, lease renewal, cancel and pause signals, reuse of
 * identical fine-tunes, events, outcome), each step depending on the state the previous one left in the same job.
 */
@Singleton
public class JobRunner implements ApplicationEventListener<ServerStartupEvent> {
    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);
    private final Settings settings;
    private final JobQueue queue;
    private final JobEvents events;
    private final FileService files;
    private final ResultFiles results;
    private final AdapterRegistry models;
    private final BaseModel base;
    private final MeterRegistry meters;
    private final FineTuneService service;
    private final ExecutorService workers;
    private final JobRepository jobs;
    private final ClusterSignals signals;
    private final CheckpointModels checkpointModels;
    /** Jobs this replica holds the lease of. */
    private final Map<String, Held> running = new ConcurrentHashMap<>();

    private final ScheduledExecutorService leaseTimer;
    private volatile boolean halted;
    private final Map<String, TrainingProgress> lastStep = new ConcurrentHashMap<>();
    private final AtomicInteger runningCount = new AtomicInteger();
    private volatile boolean shuttingDown;
    private volatile boolean started;

    public JobRunner(
            Settings settings,
            JobQueue queue,
            JobEvents events,
            JobRepository jobs,
            FileService files,
            ResultFiles results,
            AdapterRegistry models,
            BaseModel base,
            MeterRegistry meters,
            ClusterSignals signals,
            CheckpointModels checkpointModels) {
        this.results = results;
        this.checkpointModels = checkpointModels;
        this.settings = settings;
        this.jobs = jobs;
        this.signals = signals;
        this.queue = queue;
        this.events = events;
        this.files = files;
        this.models = models;
        this.base = base;
        this.meters = meters;
        // no adapter store: the server keeps its adapters under its data folder and in its database
        this.service = FineTuneService.builder()
                .jobStore(new DbJobStore(jobs, settings.runsDir()))
                // finished jobs keep their checkpoints (served as checkpoint models) until CheckpointRetention
                // deletes them
                .keepFinishedCheckpoints(true)
                .parallelism(settings.jobConcurrency())
                .threadName("rectify-finetune")
                .build();
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(settings.jobConcurrency(), r -> {
            Thread t = new Thread(r, "rectify-jobs-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.leaseTimer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "rectify-job-leases");
            t.setDaemon(true);
            return t;
        });
        meters.gauge("rectify.jobs.queue.depth", queue, JobQueue::depth);
        meters.gauge("rectify.jobs.running", runningCount, AtomicInteger::get);
    }

    @Override
    public void onApplicationEvent(ServerStartupEvent event) {
        start();
    }

    /** Recovers jobs left by an earlier run, starts the workers and the lease renewals (idempotent). */
    public synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        queue.recover();
        signals.on("cancel", this::cancelSignalled);
        signals.on("pause", this::pauseSignalled);
        long every = Math.max(100, settings.lease().toMillis() / 3);
        leaseTimer.scheduleWithFixedDelay(this::renewLeases, every, every, TimeUnit.MILLISECONDS);
        for (int i = 0; i < settings.jobConcurrency(); i++) {
            workers.execute(this::workLoop);
        }
    }

    /** A job this replica holds: its handle once submitted, and why it must stop. */
    private static final class Held {
        volatile FineTuneJob job;
        volatile boolean lost;
        volatile boolean cancel;

        void stop() {
            FineTuneJob j = job;
            if (j != null) {
                j.cancel();
            }
        }
    }

    /**
     * Stops a job running on this replica at its next step; waits up to 10 s. False when no worker of this replica
     * runs it (the replica that does is told by {@link JobService#cancel}'s signal).
     */
    public boolean cancel(String id) {
        Held h = running.get(id);
        if (h == null) {
            return false;
        }
        h.cancel = true;
        h.stop();
        FineTuneJob job = h.job;
        if (job != null) {
            try {
                job.result().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // ended (cancelled) or still stopping: the caller answers with the current state
            }
        }
        return true;
    }

    /**
     * Stops a job running here at a checkpoint (it becomes paused); waits up to 10 s. False when no worker here runs it
     * (the replica running it sees the recorded request when it renews its lease, or at once through a signal).
     */
    public boolean pause(String id) {
        Held h = running.get(id);
        if (h == null || h.job == null) {
            return false;
        }
        h.job.pause();
        try {
            h.job.result().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // paused (JobPausedException) or still stopping: the caller answers with the current state
        }
        return true;
    }

    /** Another replica asked for a pause: stops the job at a checkpoint if it runs here and the request is recorded. */
    private void pauseSignalled(String id) {
        Held h = running.get(id);
        if (h != null && h.job != null && queue.get(id).isPauseRequested()) {
            h.job.pause();
        }
    }

    /** Another replica asked for a cancel: stops the job if it runs here and the request is recorded. */
    private void cancelSignalled(String id) {
        Held h = running.get(id);
        if (h != null && queue.get(id).isCancelRequested()) {
            h.cancel = true;
            h.stop();
        }
    }

    /** Renews this replica's leases; stops jobs whose lease was lost or whose cancel was asked for elsewhere. */
    private void renewLeases() {
        if (halted) {
            return;
        }
        for (Map.Entry<String, Held> e : running.entrySet()) {
            try {
                JobQueue.LeaseState s = queue.renew(e.getKey());
                Held h = e.getValue();
                if (s == JobQueue.LeaseState.LOST && !h.lost && running.get(e.getKey()) == h) {
                    LOG.warn(
                            "replica {} lost the lease of job {} (another replica took it over); stopping it here",
                            settings.replicaId(),
                            e.getKey());
                    h.lost = true;
                    h.stop();
                } else if (s == JobQueue.LeaseState.CANCEL_REQUESTED && !h.cancel) {
                    h.cancel = true;
                    h.stop();
                }
            } catch (RuntimeException ex) {
                LOG.warn("cannot renew the lease of job {}: {}", e.getKey(), ex.getMessage());
            }
        }
    }

    /**
     * Stops this replica as a killed process would: leases are no longer renewed, running jobs stop without writing
     * anything, so other replicas take them over once their leases expire. For tests of replica failure.
     */
    void halt() {
        halted = true;
        shuttingDown = true;
        for (Held h : running.values()) {
            h.lost = true;
            h.stop();
        }
    }

    private void workLoop() {
        while (!shuttingDown) {
            try {
                JobQueue.Claim j = queue.claim().orElse(null);
                if (j == null) {
                    queue.awaitWork(500);
                    continue;
                }
                runningCount.incrementAndGet();
                try {
                    run(j);
                } finally {
                    runningCount.decrementAndGet();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("fine-tuning worker error", e);
            }
        }
    }

    private void run(JobQueue.Claim claim) {
        JobRecord j = claim.job();
        String id = j.getId();
        Held held = new Held();
        running.put(id, held);
        long t0 = System.nanoTime();
        String outcome;
        try {
            outcome = train(claim, held);
        } finally {
            running.remove(id, held);
            lastStep.remove(id);
        }
        Timer.builder("rectify.jobs.duration")
                .tag("status", outcome)
                .register(meters)
                .record(Duration.ofNanos(System.nanoTime() - t0));
    }

    private String train(JobQueue.Claim claim, Held held) {
        JobRecord j = claim.job();
        String id = j.getId();
        if (claim.takenOver()) {
            if (!settings.resumeOnRestart()) {
                queue.fail(
                        id,
                        "server_restarted",
                        "the replica running the job stopped (rectify.jobs.resume-on-restart is false)");
                return "failed";
            }
            events.message(id, queue.takeoverMessage(claim, settings.runsDir()));
        }
        JobSpec spec = JobSpec.fromJson(j.getHyperparameters());
        boolean resumed = j.getStartedAt() != null;
        jobs.started(id, System.currentTimeMillis());
        events.message(
                id,
                (resumed ? "Fine-tuning job resumed" : "Fine-tuning job started") + " on replica "
                        + settings.replicaId());
        try {
            List<Example> train = files.examples(j.getTrainingFile());
            FineTuneOptions.Builder b = spec.options().seed(j.getSeed()).keepCheckpoints(settings.keepCheckpoints());
            if (j.getValidationFile() != null) {
                b.evalExamples(files.examples(j.getValidationFile()));
            }
            FineTuneOptions options = b.build();
            String fp = Fingerprint.of(base.contentHash(), train, options.evalExamples(), options.hyperparameters());
            Adapter reused = awaitIdentical(id, fp, held);
            if (reused != null) {
                if (!held.lost) {
                    succeed(j, reused);
                }
                return held.lost ? "lost" : "reused";
            }
            FineTuneJob job = service.submit(
                    new FineTuneRequest(
                            id, base, train, options, settings.adaptersDir().resolve(id)),
                    e -> onEvent(j, e));
            held.job = job;
            JobRecord now = queue.get(id);
            if (held.cancel || held.lost || now.isCancelRequested()) { // asked for while the job was starting
                job.cancel();
            } else if (now.isPauseRequested()) {
                job.pause();
            }
            Adapter adapter = await(job);
            if (held.lost || !queue.holds(id)) {
                LOG.warn(
                        "job {} finished on replica {} after another replica took it over; its result is left to that one",
                        id,
                        settings.replicaId());
                return "lost";
            }
            succeed(j, adapter);
            return "succeeded";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            queue.release(id);
            return "interrupted";
        } catch (JobPausedException e) {
            if (!shuttingDown && !held.lost && queue.get(id).isPauseRequested()) {
                queue.paused(
                        id,
                        RunCheckpoints.latestCheckpointStep(settings.runsDir().resolve(id)));
                return "paused";
            }
            events.message(
                    id,
                    "Server shutting down: the job stopped at a checkpoint and resumes when the server starts again");
            queue.release(id);
            return "interrupted";
        } catch (TrainingCancelledException e) {
            if (held.lost) {
                return "lost";
            }
            events.message(id, "Job cancelled: " + e.getMessage());
            queue.finish(id, JobStatus.CANCELLED, null, null);
            return "cancelled";
        } catch (InvalidArgumentException e) {
            queue.fail(id, "invalid_training_data", e.getMessage());
            return "failed";
        } catch (RectifyException e) {
            if (held.lost) {
                return "lost";
            }
            LOG.warn("job {} failed", id, e);
            queue.fail(id, "training_failed", e.getMessage());
            return "failed";
        } catch (RuntimeException e) {
            if (held.lost) {
                return "lost";
            }
            LOG.error("job {} crashed", id, e);
            queue.fail(id, "internal_error", e.toString());
            return "failed";
        }
    }

    /**
     * Makes job {@code id} the one that trains fingerprint {@code fp}, or waits while an identical job trains it under
     * a live lease; returns that job's adapter once it has succeeded (copied to this job's folder), or null when this
     * job is to train.
     */
    private Adapter awaitIdentical(String id, String fp, Held held) throws InterruptedException {
        boolean told = false;
        while (true) {
            JobQueue.FingerprintClaim c = queue.claimFingerprint(fp, id);
            if (c.mine(id)) {
                return null;
            }
            if (c.ownerSucceeded()) {
                try {
                    Adapter a = AdapterFiles.read(settings.adaptersDir().resolve(c.owner()), base.contentHash());
                    if (a.id().equals(fp)) {
                        AdapterFiles.write(a, settings.adaptersDir().resolve(id));
                        events.message(id, "Reused the adapter of the identical job " + c.owner() + " (trained once)");
                        return a;
                    }
                } catch (RectifyException e) {
                    LOG.info(
                            "the adapter of identical job {} is gone ({}); job {} trains it",
                            c.owner(),
                            e.getMessage(),
                            id);
                }
                queue.forceFingerprint(fp, id);
                return null;
            }
            if (!told) {
                events.message(
                        id, "An identical fine-tune (job " + c.owner() + ") is training; waiting to reuse its adapter");
                told = true;
            }
            if (held.cancel || held.lost) {
                throw new TrainingCancelledException("cancelled while waiting for the identical job " + c.owner());
            }
            if (shuttingDown) {
                throw new JobPausedException(
                        "the server stopped while job " + id + " waited for the identical job " + c.owner());
            }
            Thread.sleep(250);
        }
    }

    private static Adapter await(FineTuneJob job) {
        try {
            return job.result().join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new RectifyException("the job ended with " + e.getCause(), e.getCause());
        }
    }

    /** Registers the adapter, records the final checkpoint and events, then marks the job succeeded. */
    private void succeed(JobRecord j, Adapter adapter) {
        String id = j.getId();
        String name = JobMapping.modelName(j);
        AdapterRecord rec = new AdapterRecord();
        rec.setName(name);
        rec.setSeq(Ids.seq());
        rec.setAdapterId(adapter.id());
        rec.setStorageName(id);
        rec.setBaseModel(models.baseName());
        rec.setJobId(id);
        rec.setPinned(false);
        rec.setSource("fine-tune");
        rec.setCreatedAt(System.currentTimeMillis());
        rec.setBytes(adapter.byteSize());
        if (models.find(name).isEmpty()) {
            models.register(rec);
        }
        long tokens = adapter.result().map(TrainingResult::trainedTokens).orElse(0L);
        int steps = adapter.result().map(TrainingResult::steps).orElse(0);
        events.checkpoint(
                id, name, steps, adapter.result().map(JobMapping::metrics).orElse(Json.object()));
        checkpointModels.unlistDeleted(id, Integer.MAX_VALUE);
        String resultFile =
                results.write(id, adapter.result().map(JobMapping::metrics).orElse(null));
        queue.update(id, r -> {
            r.setFineTunedModel(name);
            r.setTrainedTokens(tokens);
            r.setResultFiles(resultFile);
        });
        events.message(id, "New fine-tuned model created: " + name);
        events.message(id, "The job has successfully completed");
        queue.finish(id, JobStatus.SUCCEEDED, null, null);
    }

    /** Progress becomes metrics events and the job's step; checkpoints become checkpoint records. */
    private void onEvent(JobRecord j, JobEvent e) {
        String id = j.getId();
        if (e.kind() == JobEvent.Kind.CHECKPOINT) {
            TrainingProgress last = lastStep.get(id);
            ObjectNode m = Json.object();
            m.put("step", e.step());
            if (last != null && last.step() == e.step()) {
                m.put("train_loss", last.loss());
                m.put("train_nll", last.nll());
            }
            events.checkpoint(id, JobMapping.modelName(j) + ":ckpt-step-" + e.step(), e.step(), m);
            checkpointModels.unlistDeleted(id, e.step());
        } else if (e.kind() == JobEvent.Kind.PROGRESS) {
            TrainingProgress p = e.progress();
            events.record(id, "info", "metrics", JobMapping.progressMessage(p), JobMapping.metrics(p));
            if (p.phase() == TrainingProgress.Phase.TRAIN) {
                lastStep.put(id, p);
                jobs.progress(
                        id,
                        p.step(),
                        p.totalSteps(),
                        p.eta() == null
                                ? null
                                : System.currentTimeMillis() + p.eta().toMillis());
            }
        } else if (e.kind() == JobEvent.Kind.STATUS
                && e.message() != null
                && e.message().startsWith("resuming")) {
            events.message(id, "Training " + e.message());
        }
    }

    @PreDestroy
    void stop() {
        shuttingDown = true;
        if (!halted) {
            running.values().forEach(h -> {
                FineTuneJob job = h.job;
                if (job != null) {
                    job.pause();
                }
            });
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(settings.shutdownWait().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn(
                        "a fine-tuning job did not stop within {}; it resumes from its last checkpoint at the next start",
                        settings.shutdownWait());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        leaseTimer.shutdownNow();
        service.close();
    }
}
