package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.adapter.Adapter;
import dev.rectify.model.BaseModel;
import dev.rectify.core.Example;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.job.FineTuneJob;
import dev.rectify.job.FineTuneRequest;
import dev.rectify.job.FineTuneService;
import dev.rectify.job.JobEvent;
import dev.rectify.job.JobPausedException;
import dev.rectify.server.db.AdapterRecord;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import dev.rectify.train.Trainer;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs claimed jobs through the SDK's job service ({@code rectify.jobs.concurrency} workers): each job's progress
 * becomes metrics events and checkpoint records, a finished job's adapter is registered and served at once. On
 * shutdown running jobs are paused at a checkpoint and left running in the database, so that the next start resumes
 * them ({@link JobQueue#recover}).
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
    private final Map<String, FineTuneJob> running = new ConcurrentHashMap<>();
    private final Map<String, TrainingProgress> lastStep = new ConcurrentHashMap<>();
    private final AtomicInteger runningCount = new AtomicInteger();
    private volatile boolean shuttingDown;
    private volatile boolean started;

    public JobRunner(Settings settings, JobQueue queue, JobEvents events, JobRepository jobs, FileService files,
            ResultFiles results, AdapterRegistry models, BaseModel base, MeterRegistry meters) {
        this.results = results;
        this.settings = settings;
        this.queue = queue;
        this.events = events;
        this.files = files;
        this.models = models;
        this.base = base;
        this.meters = meters;
        // no adapter store: the server keeps its adapters under its data folder and in its database
        // finished jobs keep their checkpoints (served as checkpoint models) until CheckpointRetention deletes them
        this.service = FineTuneService.builder().jobStore(new DbJobStore(queue, jobs, settings.runsDir())).keepFinishedCheckpoints(true)
                .parallelism(settings.jobConcurrency()).threadName("rectify-finetune").build();
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(settings.jobConcurrency(), r -> {
            Thread t = new Thread(r, "rectify-jobs-" + n.incrementAndGet());
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

    /** Recovers jobs left by an earlier run and starts the workers (idempotent). */
    public synchronized void start() {
        if (started) {
            return;
        }
        started = true;
        queue.recover(settings.runsDir());
        for (int i = 0; i < settings.jobConcurrency(); i++) {
            workers.execute(this::workLoop);
        }
    }

    /** Stops a running job at its next step; waits up to 10 s. False when no worker of this server runs it. */
    public boolean cancel(String id) {
        FineTuneJob job = running.get(id);
        if (job == null) {
            return false;
        }
        job.cancel();
        try {
            job.result().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // ended (cancelled) or still stopping: the caller answers with the current state
        }
        return true;
    }

    /** Stops a running job at a checkpoint (it becomes paused); waits up to 10 s. False when no worker here runs it. */
    public boolean pause(String id) {
        FineTuneJob job = running.get(id);
        if (job == null) {
            return false;
        }
        job.pause();
        try {
            job.result().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // paused (JobPausedException) or still stopping: the caller answers with the current state
        }
        return true;
    }

    private void workLoop() {
        while (!shuttingDown) {
            try {
                JobRecord j = queue.claim().orElse(null);
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

    private void run(JobRecord j) {
        String id = j.getId();
        long t0 = System.nanoTime();
        JobSpec spec = JobSpec.fromJson(j.getHyperparameters());
        boolean resumed = j.getStartedAt() != null;
        queue.update(id, r -> {
            if (r.getStartedAt() == null) {
                r.setStartedAt(System.currentTimeMillis());
            }
        });
        events.message(id, resumed ? "Fine-tuning job resumed" : "Fine-tuning job started");
        String outcome;
        try {
            List<Example> train = files.examples(j.getTrainingFile());
            FineTuneOptions.Builder b = spec.options().seed(j.getSeed()).keepCheckpoints(settings.keepCheckpoints());
            if (j.getValidationFile() != null) {
                b.evalExamples(files.examples(j.getValidationFile()));
            }
            FineTuneJob job = service.submit(new FineTuneRequest(id, base, train, b.build(), settings.adaptersDir().resolve(id)),
                    e -> onEvent(j, e));
            running.put(id, job);
            JobRecord now = queue.get(id);
            if (now.isCancelRequested()) { // asked for while the job was being claimed
                job.cancel();
            } else if (now.isPauseRequested()) {
                job.pause();
            }
            Adapter adapter = await(job);
            succeed(j, adapter);
            outcome = "succeeded";
        } catch (JobPausedException e) {
            if (!shuttingDown && queue.get(id).isPauseRequested()) {
                queue.paused(id, Trainer.latestCheckpointStep(settings.runsDir().resolve(id)));
                outcome = "paused";
            } else {
                events.message(id, "Server shutting down: the job stopped at a checkpoint and resumes when the server starts again");
                outcome = "interrupted";
            }
        } catch (TrainingCancelledException e) {
            events.message(id, "Job cancelled: " + e.getMessage());
            queue.finish(id, JobStatus.CANCELLED, null, null);
            outcome = "cancelled";
        } catch (InvalidArgumentException e) {
            queue.fail(id, "invalid_training_data", e.getMessage());
            outcome = "failed";
        } catch (RectifyException e) {
            LOG.warn("job {} failed", id, e);
            queue.fail(id, "training_failed", e.getMessage());
            outcome = "failed";
        } catch (RuntimeException e) {
            LOG.error("job {} crashed", id, e);
            queue.fail(id, "internal_error", e.toString());
            outcome = "failed";
        } finally {
            running.remove(id);
            lastStep.remove(id);
        }
        Timer.builder("rectify.jobs.duration").tag("status", outcome).register(meters).record(Duration.ofNanos(System.nanoTime() - t0));
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
        events.checkpoint(id, name, steps, adapter.result().map(JobMapping::metrics).orElse(Json.object()));
        String resultFile = results.write(id, adapter.result().map(JobMapping::metrics).orElse(null));
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
        } else if (e.kind() == JobEvent.Kind.PROGRESS) {
            TrainingProgress p = e.progress();
            events.record(id, "info", "metrics", JobMapping.progressMessage(p), JobMapping.metrics(p));
            if (p.phase() == TrainingProgress.Phase.TRAIN) {
                lastStep.put(id, p);
                queue.update(id, r -> {
                    r.setLastStep(p.step());
                    r.setTotalSteps(p.totalSteps());
                    r.setEstimatedFinish(p.eta() == null ? null : System.currentTimeMillis() + p.eta().toMillis());
                });
            }
        } else if (e.kind() == JobEvent.Kind.STATUS && e.message() != null && e.message().startsWith("resuming")) {
            events.message(id, "Training " + e.message());
        }
    }

    @PreDestroy
    void stop() {
        shuttingDown = true;
        running.values().forEach(FineTuneJob::pause);
        workers.shutdown();
        try {
            if (!workers.awaitTermination(settings.shutdownWait().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("a fine-tuning job did not stop within {}; it resumes from its last checkpoint at the next start",
                        settings.shutdownWait());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        service.close();
    }
}
