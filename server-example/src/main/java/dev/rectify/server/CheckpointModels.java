package dev.rectify.server;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.job.CheckpointAdapters;
import dev.rectify.server.db.AdapterRecord;
import dev.rectify.server.db.CheckpointRecord;
import dev.rectify.server.db.CheckpointRepository;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import dev.rectify.train.CheckpointNotFoundException;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.RunCheckpoints;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoint models ({@code ft:...:ckpt-step-N}, as {@code /fine_tuning/jobs/{id}/checkpoints} lists them) made
 * servable on first use: the checkpoint still in the job's run folder becomes an adapter
 * ({@link CheckpointAdapters}) written to {@code <data-dir>/adapters/JOB-ckpt-step-N} and registered like a
 * fine-tuned model (source {@value #SOURCE}). A checkpoint the trainer or {@link CheckpointRetention} has deleted
 * answers 404 {@code model_not_found}, and its adapter, if it had been made, goes with it.
 */
@Singleton
public class CheckpointModels {
    static final String SOURCE = "checkpoint";
    private static final String MARK = ":ckpt-step-";
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointModels.class);

    private final AdapterRegistry models;
    private final JobRepository jobs;
    private final JobEvents events;
    private final Settings settings;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    public CheckpointModels(AdapterRegistry models, JobRepository jobs, JobEvents events, Settings settings) {
        this.models = models;
        this.jobs = jobs;
        this.events = events;
        this.settings = settings;
    }

    /**
     * Makes {@code model} servable when it names a listed checkpoint (does nothing for other names: the registry
     * answers for them). 404 {@code model_not_found} when that checkpoint has been deleted.
     */
    public void prepare(String model) {
        if (model == null || !model.contains(MARK)) {
            return;
        }
        Optional<CheckpointRecord> listed = events.checkpointRepository().findByCheckpointModel(model);
        Optional<AdapterRecord> made = models.find(model);
        if (made.isPresent()) {
            AdapterRecord r = made.get();
            if (SOURCE.equals(r.getSource())
                    && listed.isPresent()
                    && !RunCheckpoints.checkpointSteps(runDir(r.getJobId()))
                            .contains(listed.get().getStepNumber())) {
                models.delete(model);
                throw gone(model);
            }
            return;
        }
        if (listed.isEmpty()) {
            return;
        }
        CheckpointRecord c = listed.get();
        synchronized (locks.computeIfAbsent(model, k -> new Object())) {
            if (models.find(model).isEmpty()) {
                materialize(model, c);
            }
        }
    }

    private void materialize(String model, CheckpointRecord c) {
        JobRecord j = jobs.findById(c.getJobId()).orElseThrow(() -> gone(model));
        FineTuneOptions o = JobSpec.fromJson(j.getHyperparameters())
                .options()
                .seed(j.getSeed())
                .build();
        Adapter a;
        try {
            a = CheckpointAdapters.of(models.base(), j.getId(), o, runDir(j.getId()), c.getStepNumber());
        } catch (CheckpointNotFoundException e) {
            throw gone(model);
        }
        String storage = j.getId() + "-ckpt-step-" + c.getStepNumber();
        AdapterFiles.write(a, settings.adaptersDir().resolve(storage));
        AdapterRecord rec = new AdapterRecord();
        rec.setName(model);
        rec.setSeq(Ids.seq());
        rec.setAdapterId(a.id());
        rec.setStorageName(storage);
        rec.setBaseModel(models.baseName());
        rec.setJobId(j.getId());
        rec.setPinned(false);
        rec.setSource(SOURCE);
        rec.setCreatedAt(System.currentTimeMillis());
        rec.setBytes(a.byteSize());
        models.register(rec);
        LOG.info("checkpoint model {} made servable from step {} of job {}", model, c.getStepNumber(), j.getId());
    }

    /**
     * Unlists job {@code jobId}'s intermediate checkpoints whose files are gone (pruned by the trainer, which keeps
     * the newest {@code rectify.jobs.keep-checkpoints}, or deleted by {@link CheckpointRetention}), so that
     * {@code /fine_tuning/jobs/{id}/checkpoints} lists only models that can be served. The final entry, the
     * fine-tuned model itself, stays. Only checkpoints before {@code beforeStep} are looked at: a checkpoint is
     * announced before its files are written.
     */
    public void unlistDeleted(String jobId, int beforeStep) {
        Set<Integer> kept = Set.copyOf(RunCheckpoints.checkpointSteps(runDir(jobId)));
        CheckpointRepository listed = events.checkpointRepository();
        for (CheckpointRecord c : listed.findByJobId(jobId)) {
            if (c.getStepNumber() < beforeStep
                    && c.getCheckpointModel().contains(MARK)
                    && !kept.contains(c.getStepNumber())) {
                listed.delete(c);
            }
        }
    }

    /** Deletes the checkpoint models made from job {@code jobId}'s checkpoints (its run folder is going). */
    public List<String> forgetJob(String jobId) {
        List<String> names = models.list().stream()
                .filter(r -> SOURCE.equals(r.getSource()) && jobId.equals(r.getJobId()))
                .map(AdapterRecord::getName)
                .toList();
        for (String name : names) {
            try {
                models.delete(name);
            } catch (RuntimeException e) {
                LOG.warn("cannot delete checkpoint model {}: {}", name, e.getMessage());
            }
        }
        return names;
    }

    private Path runDir(String jobId) {
        return settings.runsDir().resolve(jobId);
    }

    private ApiException gone(String model) {
        return ApiException.notFound(
                "model",
                "model_not_found",
                "the checkpoint model '" + model + "' no longer exists: its "
                        + "checkpoint has been deleted (a job keeps its newest " + settings.keepCheckpoints()
                        + " checkpoints, for "
                        + settings.checkpointRetention() + " after it ends)");
    }
}
