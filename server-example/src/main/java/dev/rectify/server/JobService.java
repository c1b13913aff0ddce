package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.server.db.CheckpointRecord;
import dev.rectify.server.db.EventRecord;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.Sort;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.util.List;
import reactor.core.publisher.Flux;

/**
 * The fine-tuning jobs API's operations: checks a request's references (model, files), then hands the job to the
 * {@link JobQueue}; the {@link JobRunner} trains it through the SDK's job service; {@link JobEvents} keeps and pushes
 * its events; {@link JobMapping} renders the records. Statuses: validating_files → queued → running → succeeded |
 * failed | cancelled, and paused ↔ queued ({@link JobStatus}).
 */
@Singleton
public class JobService {
    private final Settings settings;
    private final JobRepository jobs;
    private final JobQueue queue;
    private final JobRunner runner;
    private final JobEvents events;
    private final FileService files;
    private final AdapterRegistry models;
    private final MeterRegistry meters;
    private final ClusterSignals signals;

    public JobService(
            Settings settings,
            JobRepository jobs,
            JobQueue queue,
            JobRunner runner,
            JobEvents events,
            FileService files,
            AdapterRegistry models,
            MeterRegistry meters,
            ClusterSignals signals) {
        this.signals = signals;
        this.settings = settings;
        this.jobs = jobs;
        this.queue = queue;
        this.runner = runner;
        this.events = events;
        this.files = files;
        this.models = models;
        this.meters = meters;
    }

    public JobRecord create(FineTuningJobBody body) {
        String model = body.model();
        Ids.checkModel(model, "model");
        if (!model.equals(models.baseName())) {
            if (models.find(model).isPresent()) {
                throw ApiException.invalid(
                        "model",
                        "model_not_supported",
                        "fine-tuning an adapter further is not supported; " + "fine-tune the base model '"
                                + models.baseName() + "'");
            }
            throw models.unknown(model);
        }
        String training = Ids.check(body.trainingFile(), "file", "training_file");
        String validation = body.validationFile();
        if (validation != null) {
            Ids.check(validation, "file", "validation_file");
        }
        JobSpec spec = JobSpec.parse(body, settings);
        String suffix = JobSpec.suffix(body.suffix());
        Long seed = body.seed();
        ObjectNode meta = metadata(body.metadata());
        files.get(training, "training_file");
        if (validation != null) {
            files.get(validation, "validation_file");
        }
        JobRecord j = new JobRecord();
        j.setId(Ids.newId("ftjob"));
        j.setSeq(Ids.seq());
        j.setModel(model);
        j.setTrainingFile(training);
        j.setValidationFile(validation);
        j.setMethodType(spec.methodType());
        j.setHyperparameters(spec.toJson());
        j.setSeed(seed == null ? spec.options().build().seed() : seed);
        j.setSuffix(suffix);
        j.setMetadata(meta == null ? null : Json.write(meta));
        j.setCreatedAt(System.currentTimeMillis());
        try {
            return queue.enqueue(
                    j,
                    () -> {
                        checkFile(training);
                        if (validation != null) {
                            checkFile(validation);
                        }
                    },
                    "Validating training file: " + training
                            + (validation == null ? "" : " and validation file: " + validation));
        } catch (ApiException e) {
            meters.counter("rectify.jobs.rejected").increment();
            throw e;
        }
    }

    /** OpenAI's metadata: at most 16 pairs, keys up to 64 characters, string values up to 512. */
    private static ObjectNode metadata(JsonNode given) {
        if (given == null || given.isNull()) {
            return null;
        }
        if (!given.isObject()) {
            throw ApiException.invalid("metadata", "'metadata' must be an object, found " + Json.kind(given));
        }
        ObjectNode meta = (ObjectNode) given;
        if (meta.size() > 16) {
            throw ApiException.invalid("metadata", "'metadata' takes at most 16 keys, got " + meta.size());
        }
        for (var it = meta.fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().length() > 64) {
                throw ApiException.invalid(
                        "metadata", "metadata keys take at most 64 characters, got " + Ids.quote(e.getKey()));
            }
            String param = "metadata." + e.getKey();
            if (!e.getValue().isTextual()) {
                throw ApiException.invalid(param, "'" + param + "' must be a string, found " + Json.kind(e.getValue()));
            }
            if (e.getValue().asText().length() > 512) {
                throw ApiException.invalid(param, "'" + param + "' takes at most 512 characters");
            }
        }
        return meta;
    }

    private void checkFile(String id) {
        if (!Files.isRegularFile(files.path(id))) {
            throw new InvalidArgumentException("the file " + id + " is missing from the data folder");
        }
    }

    public JobRecord get(String id) {
        Ids.check(id, "ftjob", "fine_tuning_job_id");
        return jobs.findById(id)
                .orElseThrow(() -> ApiException.notFound(
                        "fine_tuning_job_id", "job_not_found", "no fine-tuning job with id '" + id + "'"));
    }

    /** The status of job {@code id}. */
    public JobStatus status(String id) {
        return JobStatus.of(get(id).getStatus());
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
            before = events.eventRepository()
                    .findById(after)
                    .filter(e -> e.getJobId().equals(jobId))
                    .orElseThrow(() -> ApiException.notFound(
                            "after", "event_not_found", "no event '" + after + "' in job " + jobId))
                    .getSeq();
        }
        return events.page(jobId, before, limit);
    }

    /** Every event of the job, oldest first, live until the job ends. */
    public Flux<EventRecord> stream(String jobId) {
        get(jobId);
        return events.stream(jobId, () -> status(jobId).isTerminal());
    }

    public List<CheckpointRecord> checkpoints(String jobId, String after, int limit) {
        get(jobId);
        long before = Long.MAX_VALUE;
        if (after != null) {
            Ids.check(after, "ftckpt", "after");
            before = events.checkpointRepository()
                    .findById(after)
                    .filter(c -> c.getJobId().equals(jobId))
                    .orElseThrow(() -> ApiException.notFound(
                            "after", "checkpoint_not_found", "no checkpoint '" + after + "' in job " + jobId))
                    .getSeq();
        }
        return events.checkpoints(jobId, before, limit);
    }

    /**
     * Cancels a queued job at once, or a running one at its next step: on this replica it waits up to 10 s for it to
     * stop; on another, the request is recorded and signalled, and that replica stops it.
     */
    public JobRecord cancel(String id) {
        JobStatus s = status(id);
        if (s.isTerminal()) {
            if (s == JobStatus.CANCELLED) {
                return get(id);
            }
            throw ApiException.invalid(
                    "fine_tuning_job_id",
                    "job_not_cancellable",
                    "the job has already " + s.wire() + " and cannot be cancelled");
        }
        // the flag first, then the handle: a worker claiming the job now registers its handle, then reads the flag
        jobs.requestCancel(id);
        if (queue.cancelQueued(id)) {
            return get(id);
        }
        events.message(id, "Cancellation requested");
        if (!runner.cancel(id)) {
            signals.publish("cancel", id); // the replica running it stops it at its next step
        }
        return get(id);
    }

    /**
     * Pauses a queued job at once, or a running one at a checkpoint (waits up to 10 s for it to stop); a paused job
     * keeps its checkpoint and continues from it when resumed. 400 for a job that has ended.
     */
    public JobRecord pause(String id) {
        JobStatus s = status(id);
        if (s == JobStatus.PAUSED) {
            return get(id);
        }
        if (s.isTerminal()) {
            throw ApiException.invalid(
                    "fine_tuning_job_id",
                    "job_not_pausable",
                    "the job has already " + s.wire() + " and cannot be paused");
        }
        jobs.requestPause(id);
        if (queue.pauseQueued(id)) {
            return get(id);
        }
        events.message(id, "Pause requested: the job stops at its next checkpoint");
        if (!runner.pause(id)) {
            signals.publish("pause", id); // the replica running it stops it at its next checkpoint
        }
        return get(id);
    }

    /** Queues a paused job again; it continues from its checkpoint. 400 for a job that is not paused. */
    public JobRecord resume(String id) {
        JobStatus s = status(id);
        if (s != JobStatus.PAUSED || !queue.resume(id)) {
            throw ApiException.invalid(
                    "fine_tuning_job_id",
                    "job_not_paused",
                    "the job is " + status(id).wire() + ", not paused: only a paused job can be resumed");
        }
        return get(id);
    }

    public long queueDepth() {
        return queue.depth();
    }
}
