package dev.rectify.job;

import dev.rectify.adapter.Adapter;
import dev.rectify.core.io.ContentHash;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.RunCheckpoints;
import java.nio.file.Path;
import java.util.Set;

/**
 * Turns a training checkpoint of a job's run folder into a servable {@link Adapter}, in the same format as the
 * adapter a finished fine-tune produces (LoRA or full): the trained parameters are read from the checkpoint file
 * ({@link RunCheckpoints#checkpointWeights}) and described exactly as the trainer's final adapter is.
 */
public final class CheckpointAdapters {
    private CheckpointAdapters() {}

    /**
     * The adapter of the checkpoint of {@code step} in {@code runDir}, made by job {@code jobId} with {@code options}
     * on {@code base}. Its id is a hash of the base, the options, the job and the step (it never equals the final adapter's);
     * its recipe is the run's canonical options followed by {@code ;checkpoint=JOB@step-N}.
     *
     * @throws dev.rectify.train.CheckpointNotFoundException when the checkpoint does not exist (any more)
     * @throws dev.rectify.train.CheckpointMismatchException when it was made with other options
     */
    public static Adapter of(BaseModel base, String jobId, FineTuneOptions options, Path runDir, int step) {
        var weights = RunCheckpoints.checkpointWeights(runDir, step, options);
        Set<String> targets = options.fullFineTuning()
                ? Set.of()
                : TrainingSetup.loraTargets(base.modelFile(), base.config().modelType(), options.loraTargets());
        String id = ContentHash.of(
                "rectify-checkpoint-adapter/1\n" + base.contentHash() + "\n" + recipe(options, jobId, step));
        return TrainingSetup.adapter(
                base,
                options,
                targets,
                Adapter.builder().id(id).weights(weights).recipe(recipe(options, jobId, step)));
    }

    /** The recipe of a checkpoint adapter: the options' canonical string and where the weights came from. */
    public static String recipe(FineTuneOptions options, String jobId, int step) {
        return options.canonical() + ";checkpoint=" + jobId + "@step-" + step;
    }
}
