package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.Adapter;
import dev.rectify.BaseModel;
import dev.rectify.CancellationToken;
import dev.rectify.Example;
import dev.rectify.FineTuneOptions;
import dev.rectify.InvalidArgumentException;
import dev.rectify.RectifyException;
import dev.rectify.lora.AdapterFiles;
import dev.rectify.server.db.AdapterRecord;
import dev.rectify.server.db.CheckpointRecord;
import dev.rectify.server.db.CheckpointRepository;
import dev.rectify.server.db.EventRecord;
import dev.rectify.server.db.EventRepository;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import dev.rectify.train.TrainingCancelledException;
import dev.rectify.train.TrainingProgress;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.Sort;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fine-tuning jobs: a bounded queue ({@code rectify.jobs.max-queued}; full → 429) feeding
 * {@code rectify.jobs.concurrency} workers. Statuses validating_files → queued → running → succeeded | failed |
 * cancelled. Every step is an event; checkpoints are recorded; a finished job's adapter is registered and served at
 * once. On shutdown a running job is stopped at a checkpoint and left "running"; at startup such jobs are resumed
 * from their checkpoint (or failed, with {@code rectify.jobs.resume-on-restart=false}) and queued jobs re-queued.
 */
@Singleton
public class JobService implements ApplicationEventListener<ServerStartupEvent> {
    private static final Logger LOG = LoggerFactory.getLogger(JobService.class);
    static final Set<String> TERMINAL = Set.of("succeeded", "failed", "cancelled");

    private final Settings settings;
    private final JobRepository jobs;
    private final EventRepository events;
    private final CheckpointRepository checkpoints;
    private final FileService files;
    private final AdapterRegistry models;
    private final BaseModel base;
    private final MeterRegistry meters;
    private final LinkedBlockingDeque<String> queue = new LinkedBlockingDeque<>();
    private final Map<String, CancellationToken> tokens = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Void>> finished = new ConcurrentHashMap<>();
    private final AtomicInteger runningCount = new AtomicInteger();
    private final ExecutorService workers;
    private volatile boolean shuttingDown;
    private volatile boolean started;

    public JobService(Settings settings, JobRepository jobs, EventRepository events, CheckpointRepository checkpoints,
            FileService files, AdapterRegistry models, BaseModel base, MeterRegistry meters) {
        this.settings = settings;
        this.jobs = jobs;
        this.events = events;
        this.checkpoints = checkpoints;
        this.files = files;
        this.models = models;
        this.base = base;
        this.meters = meters;
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(settings.jobConcurrency(), r -> {
            Thread t = new Thread(r, "rectify-finetune-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        meters.gauge("rectify.jobs.queue.depth", queue, LinkedBlockingDeque::size);
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
        recover();
        for (int i = 0; i < settings.jobConcurrency(); i++) {
            workers.execute(this::workLoop);
        }
    }

    private void recover() {
        for (JobRecord j : jobs.findByStatusInOrderBySeq(List.of("running", "queued", "validating_files"))) {
            if (j.getStatus().equals("running")) {
                if (!settings.resumeOnRestart()) {
                    fail(j.getId(), "server_restarted", "the server restarted while the job was running "
                            + "(rectify.jobs.resume-on-restart is false)");
                    continue;
                }
                Path latest = runDir(j.getId()).resolve("latest");
                String from;
                try {
                    from = Files.isRegularFile(latest) ? "from checkpoint " + Files.readString(latest).strip() : "from the start (no checkpoint was saved)";
                } catch (java.io.IOException e) {
                    from = "from the start";
                }
                event(j.getId(), "info", "message", "The server restarted while the job was running; resuming " + from, null);
            } else {
                event(j.getId(), "info", "message", "The server restarted; the job is queued again", null);
            }
            update(j.getId(), r -> r.setStatus("queued"));
            queue.addLast(j.getId());
        }
    }

    // ---- API ----------------------------------------------------------------------------------------------------

    public JobRecord create(ObjectNode body) {
        String model = Json.string(body, "model", "model", true);
        Ids.checkModel(model, "model");
        if (!model.equals(models.baseName())) {
            if (models.find(model).isPresent()) {
                throw ApiException.invalid("model", "model_not_supported", "fine-tuning an adapter further is not supported; "
                        + "fine-tune the base model '" + models.baseName() + "'");
            }
            throw models.unknown(model);
        }
        String training = Ids.check(Json.string(body, "training_file", "training_file", true), "file", "training_file");
        String validation = Json.string(body, "validation_file", "validation_file", false);
        if (validation != null) {
            Ids.check(validation, "file", "validation_file");
        }
        JobSpec spec = JobSpec.parse(body, settings);
        String suffix = JobSpec.suffix(body);
        Long seed = Json.integer(body, "seed", "seed");
        ObjectNode meta = Json.obj(body, "metadata", "metadata");
        if (meta != null && meta.size() > 16) {
            throw ApiException.invalid("metadata", "'metadata' takes at most 16 keys");
        }
        files.get(training, "training_file");
        if (validation != null) {
            files.get(validation, "validation_file");
        }
        synchronized (this) {
            if (queue.size() >= settings.jobMaxQueued()) {
                meters.counter("rectify.jobs.rejected").increment();
                throw ApiException.busy("queue_full", "the fine-tuning queue is full (" + queue.size() + " jobs waiting, limit "
                        + settings.jobMaxQueued() + ", rectify.jobs.max-queued); try again later");
            }
            JobRecord j = new JobRecord();
            j.setId(Ids.newId("ftjob"));
            j.setSeq(Ids.seq());
            j.setModel(model);
            j.setTrainingFile(training);
            j.setValidationFile(validation);
            j.setStatus("validating_files");
            j.setMethodType(spec.methodType());
            j.setHyperparameters(spec.toJson());
            j.setSeed(seed == null ? 42 : seed);
            j.setSuffix(suffix);
            j.setCreatedAt(System.currentTimeMillis());
            jobs.save(j);
            event(j.getId(), "info", "message", "Validating training file: " + training
                    + (validation == null ? "" : " and validation file: " + validation), null);
            try {
                checkFile(training);
                if (validation != null) {
                    checkFile(validation);
                }
            } catch (RectifyException e) {
                fail(j.getId(), "invalid_file", e.getMessage());
                return jobs.findById(j.getId()).orElseThrow();
            }
            event(j.getId(), "info", "message", "Files validated, moving job to queued state", null);
            update(j.getId(), r -> r.setStatus("queued"));
            queue.addLast(j.getId());
            return jobs.findById(j.getId()).orElseThrow();
        }
    }

    private void checkFile(String id) {
        if (!Files.isRegularFile(files.path(id))) {
            throw new InvalidArgumentException("the file " + id + " is missing from the data folder");
        }
    }

    public JobRecord get(String id) {
        Ids.check(id, "ftjob", "fine_tuning_job_id");
        return jobs.findById(id).orElseThrow(() -> ApiException.notFound("fine_tuning_job_id", "job_not_found",
                "no fine-tuning job with id '" + id + "'"));
    }

    public List<JobRecord> list(String after, int limit) {
        long before = after == null ? Long.MAX_VALUE : get(after).getSeq();
        return jobs.findBySeqLessThan(before, Pageable.from(0, limit, Sort.of(Sort.Order.desc("seq"))));
    }

    public List<EventRecord> events(String jobId, String after, int limit) {
        get(jobId);
        long before = Long.MAX_VALUE;
        if (after != null) {
            Ids.check(after, "ftevent", "after");
            before = events.findById(after).filter(e -> e.getJobId().equals(jobId)).orElseThrow(() -> ApiException.notFound("after",
                    "event_not_found", "no event '" + after + "' in job " + jobId)).getSeq();
        }
        return events.findByJobIdAndSeqLessThan(jobId, before, Pageable.from(0, limit, Sort.of(Sort.Order.desc("seq"))));
    }

    public List<EventRecord> eventsSince(String jobId, long seq) {
        return events.findByJobIdAndSeqGreaterThanOrderBySeq(jobId, seq);
    }

    public List<CheckpointRecord> checkpoints(String jobId, String after, int limit) {
        get(jobId);
        long before = Long.MAX_VALUE;
        if (after != null) {
            Ids.check(after, "ftckpt", "after");
            before = checkpoints.findById(after).filter(c -> c.getJobId().equals(jobId)).orElseThrow(() -> ApiException.notFound(
                    "after", "checkpoint_not_found", "no checkpoint '" + after + "' in job " + jobId)).getSeq();
        }
        return checkpoints.findByJobIdAndSeqLessThan(jobId, before, Pageable.from(0, limit, Sort.of(Sort.Order.desc("seq"))));
    }

    /** Cancels a queued job at once, or a running one at its next step (waits up to 10 s for it to stop). */
    public JobRecord cancel(String id) {
        JobRecord j = get(id);
        if (TERMINAL.contains(j.getStatus())) {
            if (j.getStatus().equals("cancelled")) {
                return j;
            }
            throw ApiException.invalid("fine_tuning_job_id", "job_not_cancellable", "the job has already " + j.getStatus()
                    + " and cannot be cancelled");
        }
        CompletableFuture<Void> done;
        synchronized (this) {
            update(id, r -> r.setCancelRequested(true));
            if (queue.remove(id)) {
                finish(id, "cancelled", null, null);
                event(id, "info", "message", "Job cancelled before it started", null);
                return get(id);
            }
            CancellationToken t = tokens.get(id);
            if (t != null) {
                t.cancel();
            }
            done = finished.get(id);
            event(id, "info", "message", "Cancellation requested", null);
        }
        if (done != null) {
            try {
                done.get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // answered with the current state below
            }
        }
        return get(id);
    }

    public int queueDepth() {
        return queue.size();
    }

    // ---- workers ------------------------------------------------------------------------------------------------

    private void workLoop() {
        while (!shuttingDown) {
            String id;
            try {
                id = queue.pollFirst(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (id == null) {
                continue;
            }
            CompletableFuture<Void> done = new CompletableFuture<>();
            CancellationToken token = new CancellationToken();
            synchronized (this) {
                JobRecord j = jobs.findById(id).orElse(null);
                if (j == null || TERMINAL.contains(j.getStatus())) {
                    continue;
                }
                if (j.isCancelRequested()) {
                    finish(id, "cancelled", null, null);
                    continue;
                }
                tokens.put(id, token);
                finished.put(id, done);
            }
            runningCount.incrementAndGet();
            try {
                run(id, token);
            } catch (Throwable e) {
                LOG.error("job {} crashed", id, e);
                try {
                    fail(id, "internal_error", e.toString());
                } catch (RuntimeException again) {
                    LOG.error("cannot record the failure of job {}", id, again);
                }
            } finally {
                runningCount.decrementAndGet();
                tokens.remove(id);
                finished.remove(id);
                done.complete(null);
            }
        }
    }

    private Path runDir(String id) {
        return settings.runsDir().resolve(Ids.check(id, "ftjob", "id"));
    }

    private void run(String id, CancellationToken token) {
        JobRecord j = jobs.findById(id).orElseThrow();
        JobSpec spec = JobSpec.fromJson(j.getHyperparameters());
        long t0 = System.nanoTime();
        boolean resumed = j.getStartedAt() != null;
        update(id, r -> {
            r.setStatus("running");
            if (r.getStartedAt() == null) {
                r.setStartedAt(System.currentTimeMillis());
            }
        });
        event(id, "info", "message", resumed ? "Fine-tuning job resumed" : "Fine-tuning job started", null);
        String status;
        try {
            List<Example> train = files.examples(j.getTrainingFile());
            FineTuneOptions.Builder b = spec.options().seed(j.getSeed()).runDir(runDir(id)).resume(true).cancellation(token)
                    .onProgress(p -> progress(id, j, spec, p));
            if (j.getValidationFile() != null) {
                b.evalExamples(files.examples(j.getValidationFile()));
            }
            // no shared store: the server keeps its adapters under its own data folder and database
            Adapter adapter = Adapter.fineTune(base, train, b.build(), null);
            String name = modelName(j);
            Path dir = settings.adaptersDir().resolve(id);
            AdapterFiles.write(adapter, dir);
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
            long tokensTrained = adapter.result().map(r -> r.trainedTokens()).orElse(0L);
            int steps = adapter.result().map(r -> r.steps()).orElse(0);
            checkpoint(id, name, steps, adapter.result().map(r -> metricsOfResult(r)).orElse(Json.object()));
            update(id, r -> {
                r.setFineTunedModel(name);
                r.setTrainedTokens(tokensTrained);
            });
            finish(id, "succeeded", null, null);
            event(id, "info", "message", "New fine-tuned model created: " + name, null);
            event(id, "info", "message", "The job has successfully completed", null);
            status = "succeeded";
        } catch (TrainingCancelledException e) {
            if (shuttingDown && !jobs.findById(id).map(JobRecord::isCancelRequested).orElse(false)) {
                event(id, "info", "message", "Server shutting down: the job stopped at a checkpoint and resumes when the server "
                        + "starts again", null);
                status = "interrupted";
            } else {
                finish(id, "cancelled", null, null);
                event(id, "info", "message", "Job cancelled: " + e.getMessage(), null);
                status = "cancelled";
            }
        } catch (InvalidArgumentException e) {
            fail(id, "invalid_training_data", e.getMessage());
            status = "failed";
        } catch (RectifyException e) {
            LOG.warn("job {} failed", id, e);
            fail(id, "training_failed", e.getMessage());
            status = "failed";
        }
        Timer.builder("rectify.jobs.duration").tag("status", status).register(meters).record(Duration.ofNanos(System.nanoTime() - t0));
    }

    private String modelName(JobRecord j) {
        String shortId = j.getId().substring("ftjob-".length(), "ftjob-".length() + 8);
        return "ft:" + j.getModel() + ":" + (j.getSuffix() == null ? "rectify" : j.getSuffix()) + ":" + shortId;
    }

    private void progress(String id, JobRecord j, JobSpec spec, TrainingProgress p) {
        ObjectNode d = Json.object();
        d.put("step", p.step());
        d.put("total_steps", p.totalSteps());
        if (p.phase() == TrainingProgress.Phase.TRAIN) {
            d.put("train_loss", p.loss());
            d.put("train_nll", p.nll());
            d.put("learning_rate", p.learningRate());
            d.put("grad_norm", p.gradNorm());
            d.put("tokens_per_second", p.tokensPerSecond());
            d.put("epoch", p.epoch() + 1);
            event(id, "info", "metrics", "Step " + p.step() + "/" + p.totalSteps() + ": training loss=" + String.format("%.4f", p.loss()), d);
            update(id, r -> {
                r.setLastStep(p.step());
                r.setTotalSteps(p.totalSteps());
            });
            if (spec.checkpointEvery() > 0 && p.step() % spec.checkpointEvery() == 0 && p.step() < p.totalSteps()) {
                ObjectNode m = Json.object();
                m.put("step", p.step());
                m.put("train_loss", p.loss());
                m.put("train_nll", p.nll());
                checkpoint(id, modelName(j) + ":ckpt-step-" + p.step(), p.step(), m);
            }
        } else {
            d.put("valid_loss", p.evalLoss());
            d.put("valid_nll", p.evalNll());
            d.put("valid_mean_token_accuracy", p.evalTokenAccuracy());
            event(id, "info", "metrics", "Step " + p.step() + "/" + p.totalSteps() + ": validation loss=" + String.format("%.4f", p.evalLoss()), d);
        }
    }

    private static ObjectNode metricsOfResult(dev.rectify.train.TrainingResult r) {
        ObjectNode m = Json.object();
        m.put("step", r.steps());
        List<TrainingProgress> train = r.history().stream().filter(p -> p.phase() == TrainingProgress.Phase.TRAIN).toList();
        if (!train.isEmpty()) {
            m.put("train_loss", train.get(train.size() - 1).loss());
        }
        if (!r.finalEval().isEmpty()) {
            m.put("full_valid_loss", r.finalEval().loss());
            m.put("full_valid_mean_token_accuracy", r.finalEval().tokenAccuracy());
        }
        return m;
    }

    private void checkpoint(String jobId, String model, int step, ObjectNode metrics) {
        CheckpointRecord c = new CheckpointRecord();
        c.setId(Ids.newId("ftckpt"));
        c.setSeq(Ids.seq());
        c.setJobId(jobId);
        c.setStepNumber(step);
        c.setCreatedAt(System.currentTimeMillis());
        c.setMetrics(Json.write(metrics));
        c.setCheckpointModel(model);
        checkpoints.save(c);
    }

    // ---- state --------------------------------------------------------------------------------------------------

    private synchronized void update(String id, Consumer<JobRecord> change) {
        JobRecord r = jobs.findById(id).orElseThrow();
        change.accept(r);
        jobs.update(r);
    }

    private void finish(String id, String status, String code, String message) {
        update(id, r -> {
            r.setStatus(status);
            r.setFinishedAt(System.currentTimeMillis());
            r.setErrorCode(code);
            r.setErrorMessage(message == null ? null : message.length() > 3900 ? message.substring(0, 3900) : message);
        });
    }

    private void fail(String id, String code, String raw) {
        String message = ErrorText.scrub(raw, settings.dataDir());
        finish(id, "failed", code, message);
        event(id, "error", "message", "Fine-tuning job failed: " + message, null);
    }

    void event(String jobId, String level, String type, String message, ObjectNode data) {
        EventRecord e = new EventRecord();
        e.setId(Ids.newId("ftevent"));
        e.setSeq(Ids.seq());
        e.setJobId(jobId);
        e.setCreatedAt(System.currentTimeMillis());
        e.setEventLevel(level);
        e.setEventType(type);
        e.setMessage(message.length() > 3900 ? message.substring(0, 3900) : message);
        e.setData(data == null ? null : Json.write(data));
        events.save(e);
    }

    @PreDestroy
    void stop() {
        shuttingDown = true;
        tokens.values().forEach(CancellationToken::cancel);
        workers.shutdown();
        try {
            if (!workers.awaitTermination(settings.shutdownWait().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("a fine-tuning job did not stop within {}; it resumes from its last checkpoint at the next start",
                        settings.shutdownWait());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- JSON ---------------------------------------------------------------------------------------------------

    public static ObjectNode json(JobRecord j) {
        ObjectNode o = Json.object();
        o.put("id", j.getId());
        o.put("object", "fine_tuning.job");
        o.put("model", j.getModel());
        o.put("created_at", j.getCreatedAt() / 1000);
        if (j.getFinishedAt() == null) {
            o.putNull("finished_at");
        } else {
            o.put("finished_at", j.getFinishedAt() / 1000);
        }
        o.put("fine_tuned_model", j.getFineTunedModel());
        o.put("organization_id", "org-rectify");
        o.putArray("result_files");
        o.put("status", j.getStatus());
        o.put("validation_file", j.getValidationFile());
        o.put("training_file", j.getTrainingFile());
        JobSpec spec = JobSpec.fromJson(j.getHyperparameters());
        ObjectNode hp = spec.hyperparametersJson();
        o.set("hyperparameters", hp);
        ObjectNode method = o.putObject("method");
        method.put("type", spec.methodType());
        method.putObject(spec.methodType()).set("hyperparameters", hp.deepCopy());
        if (j.getTrainedTokens() == null) {
            o.putNull("trained_tokens");
        } else {
            o.put("trained_tokens", j.getTrainedTokens());
        }
        if (j.getErrorMessage() == null) {
            o.putNull("error");
        } else {
            ObjectNode e = o.putObject("error");
            e.put("code", j.getErrorCode());
            e.put("message", j.getErrorMessage());
            e.put("param", j.getErrorParam());
        }
        o.put("seed", j.getSeed());
        o.putNull("estimated_finish");
        o.putArray("integrations");
        o.put("user_provided_suffix", j.getSuffix());
        if (j.getLastStep() != null) {
            ObjectNode pr = o.putObject("progress");
            pr.put("step", j.getLastStep());
            pr.put("total_steps", j.getTotalSteps());
        }
        return o;
    }

    public static ObjectNode json(EventRecord e) {
        ObjectNode o = Json.object();
        o.put("id", e.getId());
        o.put("object", "fine_tuning.job.event");
        o.put("created_at", e.getCreatedAt() / 1000);
        o.put("level", e.getEventLevel());
        o.put("message", e.getMessage());
        o.put("type", e.getEventType());
        if (e.getData() == null) {
            o.putObject("data");
        } else {
            o.set("data", Json.parse(e.getData()));
        }
        return o;
    }

    public static ObjectNode json(CheckpointRecord c) {
        ObjectNode o = Json.object();
        o.put("id", c.getId());
        o.put("object", "fine_tuning.job.checkpoint");
        o.put("created_at", c.getCreatedAt() / 1000);
        o.put("fine_tuned_model_checkpoint", c.getCheckpointModel());
        o.put("fine_tuning_job_id", c.getJobId());
        o.put("step_number", c.getStepNumber());
        o.set("metrics", Json.parse(c.getMetrics()));
        return o;
    }

    static List<ObjectNode> page(List<ObjectNode> items, int limit) {
        return new ArrayList<>(items.subList(0, Math.min(limit, items.size())));
    }
}
