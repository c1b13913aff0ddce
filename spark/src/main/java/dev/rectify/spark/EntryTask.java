package dev.rectify.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.job.BatchManifest;
import dev.rectify.job.FileJobStore;
import dev.rectify.job.FineTuneJob;
import dev.rectify.job.FineTuneRequest;
import dev.rectify.job.FineTuneService;
import dev.rectify.model.BaseModel;
import dev.rectify.model.BundledModel;
import dev.rectify.ort.Device;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.TaskKilledException;
import org.apache.spark.api.java.function.Function;

/**
 * One manifest entry as one Spark task, on its executor: reads the entry from the manifest (on shared storage),
 * opens the base model on the task's device ({@link TaskDevice}), and runs the entry through the SDK's
 * {@link FineTuneService} with a {@link FileJobStore} in {@code <out>/runs} and the shared {@link AdapterStore}.
 * The service skips an identical finished fine-tune (same fingerprint, intact adapter), resumes an interrupted one
 * from its last checkpoint, and writes the adapter folder atomically. A task Spark kills (a cancelled job, a stopped
 * context) pauses its fine-tune at the next step, so the checkpoints stay for the rerun. A fine-tune that fails on
 * its inputs (bad data) is reported as failed without failing the Spark job; a task that cannot start (manifest or
 * model unreadable on this executor) throws, so Spark retries it elsewhere.
 */
final class EntryTask implements Function<String, EntryResult> {
    private static final long serialVersionUID = 1L;
    /** Written into each adapter folder a task trains: the entry and the run's figures, read back when skipped. */
    static final String RECORD = "rectify-spark.json";

    private static final String FORMAT = "rectify-spark/1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final SparkBatchOptions options;

    EntryTask(SparkBatchOptions options) {
        this.options = options;
    }

    @Override
    public EntryResult call(String name) {
        long t0 = System.nanoTime();
        TaskContext ctx = TaskContext.get();
        BatchManifest.Job job = BatchManifest.read(options.manifestPath(), options.outPath()).stream()
                .filter(j -> j.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new InvalidArgumentException(options.manifest() + ": no entry named '" + name
                        + "' (the manifest changed while the batch ran?)"));
        Device device = TaskDevice.choose(resources(ctx), ctx == null ? 1 : ctx.cpus(), options.threads());
        SparkEnv env = SparkEnv.get();
        String where = "executor " + (env == null ? "?" : env.executorId()) + " on " + device;
        Path model = options.model() != null ? Path.of(options.model()) : BundledModel.directory();
        AdapterStore store = options.store() == null ? null : AdapterStore.open(Path.of(options.store()));
        AtomicReference<Double> lastLoss = new AtomicReference<>(Double.NaN);
        try (BaseModel base = BaseModel.open(model, device);
                FineTuneService service = FineTuneService.builder()
                        .jobStore(new FileJobStore(options.runsPath()))
                        .adapterStore(store)
                        .threadName("rectify-spark-" + name)
                        .build()) {
            FineTuneRequest request;
            try {
                request = job.request(base, options.checkpointEvery(), p -> {
                    if (p.phase() == TrainingProgress.Phase.TRAIN) {
                        lastLoss.set(p.loss());
                    }
                });
            } catch (RectifyException e) { // unreadable data: this entry fails alone
                return failed(job, e, t0, where);
            }
            FineTuneJob fj = service.submit(request);
            Adapter adapter;
            try {
                adapter = await(fj, ctx);
            } catch (RectifyException e) {
                return failed(job, e, t0, where);
            }
            TrainingResult r = adapter.result().orElse(null);
            int steps = r == null ? -1 : r.steps();
            if (fj.reused()) {
                if (store != null) {
                    store.put(adapter); // kept in the shared store too (a no-op when it is there)
                }
                return new EntryResult(
                        name,
                        job.line(),
                        EntryResult.SKIPPED,
                        adapter.id(),
                        steps,
                        -1,
                        recordedLoss(job.output()),
                        seconds(t0),
                        job.output().toString(),
                        where,
                        null);
            }
            writeRecord(job, adapter, lastLoss.get(), where);
            return new EntryResult(
                    name,
                    job.line(),
                    EntryResult.DONE,
                    adapter.id(),
                    steps,
                    fj.resumedFromStep(),
                    lastLoss.get(),
                    seconds(t0),
                    job.output().toString(),
                    where,
                    null);
        }
    }

    /** The task's resources as name to addresses ({@code gpu} to {@code ["0"]}, say); empty outside Spark. */
    private static Map<String, String[]> resources(TaskContext ctx) {
        Map<String, String[]> m = new HashMap<>();
        if (ctx != null) {
            ctx.resourcesJMap().forEach((k, v) -> m.put(k, v.addresses()));
        }
        return m;
    }

    /**
     * Waits for the fine-tune; when Spark kills the task (the job was cancelled, the context stopped), pauses the
     * fine-tune at its next step, waits for it to stop, and ends the task as killed.
     */
    private static Adapter await(FineTuneJob fj, TaskContext ctx) {
        while (true) {
            try {
                return fj.result().get(200, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (ctx != null && ctx.isInterrupted()) {
                    stop(fj);
                    ctx.killTaskIfInterrupted();
                }
            } catch (InterruptedException e) {
                stop(fj);
                Thread.currentThread().interrupt();
                if (ctx != null) {
                    ctx.killTaskIfInterrupted();
                }
                throw new TaskKilledException("interrupted");
            } catch (ExecutionException e) {
                Throwable c = e.getCause() instanceof CompletionException x && x.getCause() != null
                        ? x.getCause()
                        : e.getCause();
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new RectifyException("fine-tune " + fj.id() + " failed: " + c, c);
            }
        }
    }

    /** Pauses {@code fj} and waits, ignoring interrupts, until it has stopped (its checkpoints are then safe). */
    private static void stop(FineTuneJob fj) {
        fj.pause();
        boolean interrupted = false;
        while (!fj.result().isDone()) {
            try {
                fj.result().get(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException | TimeoutException e) {
                // stopped (paused), or still stopping
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static EntryResult failed(BatchManifest.Job job, RectifyException e, long t0, String where) {
        return new EntryResult(
                job.name(),
                job.line(),
                EntryResult.FAILED,
                null,
                -1,
                -1,
                Double.NaN,
                seconds(t0),
                job.output().toString(),
                where,
                e.getMessage());
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** {@code <output>/rectify-spark.json}, written atomically after the adapter. */
    private static void writeRecord(BatchManifest.Job job, Adapter adapter, double finalLoss, String where) {
        ObjectNode r = JSON.createObjectNode();
        r.put("format", FORMAT);
        r.put("job", job.name());
        r.put("adapter_id", adapter.id());
        r.put("base_model_hash", adapter.baseModelHash());
        r.put("steps", adapter.result().map(TrainingResult::steps).orElse(-1));
        if (Double.isFinite(finalLoss)) {
            r.put("final_loss", finalLoss);
        }
        r.put("data", job.data().toString());
        r.put("objective", job.objective().toString());
        ObjectNode opts = r.putObject("options");
        job.options().forEach(opts::set);
        r.put("trained_by", where);
        r.put("finished", Instant.now().toString());
        Path file = job.output().resolve(RECORD);
        try {
            AtomicFile.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(r));
        } catch (IOException e) {
            throw new RectifyException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The final loss recorded when the adapter was trained, or NaN. */
    private static double recordedLoss(Path output) {
        Path file = output.resolve(RECORD);
        if (!Files.isRegularFile(file)) {
            return Double.NaN;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            return n.hasNonNull("final_loss") ? n.get("final_loss").asDouble() : Double.NaN;
        } catch (IOException e) {
            return Double.NaN;
        }
    }
}
