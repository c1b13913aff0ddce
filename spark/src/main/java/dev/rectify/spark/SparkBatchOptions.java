package dev.rectify.spark;

import dev.rectify.core.InvalidArgumentException;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * What the driver ships to every task: paths as strings (on storage every executor sees), no open resources.
 *
 * @param manifest the batch manifest (the CLI's {@code rectify batch} format)
 * @param out the batch folder: manifest outputs relative to it (default {@code adapters/<name>}), job states and
 *     checkpoints in {@code runs/}, the summary
 * @param store the shared content-addressed adapter store ({@code AdapterStore}) every finished adapter is put in, or
 *     null for none
 * @param model the base model folder, or null for the bundled model
 * @param threads CPU threads per task, 0 for {@code spark.task.cpus}
 * @param checkpointEvery steps between checkpoints for entries without {@code checkpoint_every}, 0 for about 20 a job
 */
public record SparkBatchOptions(
        String manifest, String out, String store, String model, int threads, int checkpointEvery)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    public SparkBatchOptions {
        if (manifest == null || manifest.isBlank()) {
            throw new InvalidArgumentException("no manifest given");
        }
        if (threads < 0) {
            throw new InvalidArgumentException("threads must be >= 0 (0 = spark.task.cpus), got " + threads);
        }
        if (checkpointEvery < 0) {
            throw new InvalidArgumentException("checkpoint every must be >= 0 steps, got " + checkpointEvery);
        }
        manifest = Path.of(manifest).toAbsolutePath().normalize().toString();
        out = (out == null ? Path.of(manifest).getParent() : Path.of(out))
                .toAbsolutePath()
                .normalize()
                .toString();
        store = store == null
                ? null
                : Path.of(store).toAbsolutePath().normalize().toString();
        model = model == null
                ? null
                : Path.of(model).toAbsolutePath().normalize().toString();
    }

    /** A batch of {@code manifest} into {@code out} with adapters also in {@code store} (may be null). */
    public static SparkBatchOptions of(Path manifest, Path out, Path store) {
        return new SparkBatchOptions(
                manifest.toString(),
                out == null ? null : out.toString(),
                store == null ? null : store.toString(),
                null,
                0,
                0);
    }

    /** These options with base model folder {@code dir}. */
    public SparkBatchOptions withModel(Path dir) {
        return new SparkBatchOptions(manifest, out, store, dir.toString(), threads, checkpointEvery);
    }

    /** These options with {@code n} CPU threads a task. */
    public SparkBatchOptions withThreads(int n) {
        return new SparkBatchOptions(manifest, out, store, model, n, checkpointEvery);
    }

    /** These options checkpointing every {@code steps} steps (entries without {@code checkpoint_every}). */
    public SparkBatchOptions withCheckpointEvery(int steps) {
        return new SparkBatchOptions(manifest, out, store, model, threads, steps);
    }

    Path manifestPath() {
        return Path.of(manifest);
    }

    Path outPath() {
        return Path.of(out);
    }

    /** Where job states and checkpoints live: {@code <out>/runs}, as with the CLI's batch. */
    Path runsPath() {
        return outPath().resolve("runs");
    }
}
