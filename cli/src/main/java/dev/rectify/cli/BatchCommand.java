package dev.rectify.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.adapter.Adapter;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.job.BatchManifest;
import dev.rectify.job.FileJobStore;
import dev.rectify.job.FineTuneJob;
import dev.rectify.job.FineTuneRequest;
import dev.rectify.job.FineTuneService;
import dev.rectify.job.JobEvent;
import dev.rectify.job.JobStatus;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import dev.rectify.train.EvalMetrics;
import dev.rectify.train.TrainingResult;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code rectify batch MANIFEST}: many fine-tuning jobs from a JSONL manifest, a bounded number at a time, resumable.
 * A thin client of the SDK's job service ({@link FineTuneService} with a {@link FileJobStore} in {@code <out>/runs}):
 * the service fingerprints each job, skips one whose identical adapter is already in its output, resumes an
 * interrupted one from its checkpoint in {@code <out>/runs/<name>}; a failing one (bad data, say) fails alone. Ends
 * with a summary table; exit code 3 when any job failed.
 */
@Command(
        name = "batch",
        mixinStandardHelpOptions = true,
        description = {
            "Run many fine-tuning jobs from a JSONL manifest, one job a line:",
            "  {\"name\": \"math-dft\", \"data\": \"data/math/train.jsonl\",",
            "   \"objective\": \"dft\", \"options\": {\"max_steps\": 100, \"lora_rank\": 8,",
            "   \"eval_data\": \"data/math/heldout.jsonl\"}, \"output\": \"adapters/math-dft\"}",
            "data and eval_data are relative to the manifest's folder; output",
            "(default adapters/<name>) is relative to --out.",
            "Options (defaults as in rectify finetune): epochs, max_steps, lora_rank,",
            "lora_alpha, lora_targets, lora_dropout, full, learning_rate, schedule",
            "(cosine, linear, constant, constant_with_warmup), warmup_ratio,",
            "batch_size, micro_batch_size, gradient_accumulation_steps, max_seq_length,",
            "seed, eval_data, eval_fraction, eval_every, early_stopping_patience,",
            "weight_decay, max_grad_norm, adam_beta1, adam_beta2, loss_type,",
            "checkpoint_every; TRL's names too: num_train_epochs, max_length,",
            "per_device_train_batch_size, lr_scheduler_type, eval_steps, loss_type,",
            "and PEFT's lora_r, lora_target_modules, target_modules.",
            "Run it again after an interruption: finished jobs are skipped, interrupted",
            "ones resume from their checkpoint in <out>/runs/<name>.",
            "Exit code: 0 when every job succeeded or was already done, 3 when any",
            "failed, 1 or 2 for a bad manifest or command line.",
            ""
        })
final class BatchCommand implements Callable<Integer> {
    /** The exit code when one or more jobs failed. */
    static final int EXIT_JOBS_FAILED = 3;
    /** Written into each adapter folder the batch trains: which job, data and options made it. */
    static final String RECORD = "rectify-batch.json";

    private static final String FORMAT = "rectify-batch/2";

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MANIFEST", description = "The jobs, JSON Lines.")
    Path manifest;

    @Option(
            names = {"-o", "--out"},
            paramLabel = "DIR",
            description = "Folder for outputs given as relative paths, run checkpoints (runs/<name>) and the summary "
                    + "(default: the manifest's folder).")
    Path out;

    @Option(
            names = {"-j", "--parallel"},
            paramLabel = "N",
            defaultValue = "1",
            description = "Jobs run at once (default ${DEFAULT-VALUE}); with N > 1 on the CPU give each a share of the "
                    + "cores, e.g. --device cpu:4.")
    int parallel;

    @Option(
            names = {"-m", "--model"},
            paramLabel = "DIR",
            description = "Model folder. Default: the bundled model.")
    Path model;

    @Option(
            names = "--device",
            defaultValue = "cpu",
            description = "cpu, cpu:THREADS, cuda or cuda:ID (default ${DEFAULT-VALUE}).")
    String device;

    @Option(
            names = "--checkpoint-every",
            paramLabel = "STEPS",
            defaultValue = "0",
            description = "Checkpoint every STEPS steps, for jobs without checkpoint_every (default: about 20 "
                    + "checkpoints a job, at least one step apart).")
    int checkpointEvery;

    /** How a job ended. */
    enum Status {
        DONE,
        SKIPPED,
        FAILED
    }

    /** One line of the summary. {@code resumedAt} is the checkpoint step a job resumed from, or -1. */
    record JobResult(
            BatchManifest.Job job,
            Status status,
            int steps,
            int resumedAt,
            EvalMetrics before,
            EvalMetrics after,
            double seconds,
            String error) {
        String statusText() {
            return status.name().toLowerCase(Locale.ROOT);
        }
    }

    @Override
    public Integer call() {
        if (parallel < 1 || parallel > 256) {
            throw new InvalidArgumentException("--parallel must be in [1, 256], got " + parallel);
        }
        if (checkpointEvery < 0) {
            throw new InvalidArgumentException("--checkpoint-every must be >= 0, got " + checkpointEvery);
        }
        Path outDir = (out != null ? out : manifest.toAbsolutePath().getParent())
                .toAbsolutePath()
                .normalize();
        List<BatchManifest.Job> jobs = BatchManifest.read(manifest, outDir);
        Device dev = Device.parse(device);
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path runs = outDir.resolve("runs");
        List<JobResult> results = new ArrayList<>();
        long started = System.nanoTime();
        try (BaseModel m = Models.open(model, dev);
                BatchProgress progress = new BatchProgress(err, jobs.size(), System.console() != null);
                FineTuneService service = FineTuneService.builder()
                        .jobStore(new FileJobStore(runs))
                        .parallelism(Math.min(parallel, jobs.size()))
                        .threadName("rectify-batch")
                        .build()) {
            List<CompletableFuture<JobResult>> futures = new ArrayList<>();
            for (BatchManifest.Job job : jobs) {
                futures.add(submit(job, m, service, progress));
            }
            for (CompletableFuture<JobResult> f : futures) {
                results.add(f.join());
            }
        }
        try {
            Files.deleteIfExists(runs); // only when empty: job states and checkpoints of unfinished jobs stay
        } catch (IOException e) {
            // not empty, or not ours to remove
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        printSummary(o, results, seconds);
        writeSummary(err, outDir, results);
        List<JobResult> failed =
                results.stream().filter(r -> r.status() == Status.FAILED).toList();
        if (failed.isEmpty()) {
            return 0;
        }
        err.printf("rectify: batch: %d of %d jobs failed:%n", failed.size(), results.size());
        for (JobResult r : failed) {
            err.printf("  %s (line %d): %s%n", r.job().name(), r.job().line(), r.error());
        }
        err.flush();
        return EXIT_JOBS_FAILED;
    }

    /** Submits one job; the future never fails: every exception becomes a failed result, so one job cannot stop the others. */
    private CompletableFuture<JobResult> submit(
            BatchManifest.Job job, BaseModel model, FineTuneService service, BatchProgress progress) {
        long t0 = System.nanoTime();
        String name = job.name();
        try {
            FineTuneRequest request = job.request(model, checkpointEvery, p -> progress.update(name, p));
            FineTuneJob fj = service.submit(request, e -> {
                if (e.kind() == JobEvent.Kind.STATUS && e.status() == JobStatus.RUNNING) {
                    progress.started(name, e.message());
                }
            });
            return fj.result()
                    .handle((adapter, error) -> error == null
                            ? done(job, fj, adapter, t0, progress)
                            : failed(
                                    job,
                                    fj.resumedFromStep(),
                                    error instanceof CompletionException c ? c.getCause() : error,
                                    t0,
                                    progress));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(failed(job, -1, e, t0, progress));
        }
    }

    private JobResult done(BatchManifest.Job job, FineTuneJob fj, Adapter adapter, long t0, BatchProgress progress) {
        TrainingResult r = adapter.result().orElse(null);
        int steps = r == null ? -1 : r.steps();
        EvalMetrics before = r == null ? EvalMetrics.NONE : r.initialEval();
        EvalMetrics after = r == null ? EvalMetrics.NONE : r.finalEval();
        if (fj.reused()) {
            progress.finished(job.name(), "skipped", "already done in " + job.output());
            return new JobResult(job, Status.SKIPPED, steps, -1, before, after, seconds(t0), null);
        }
        try {
            writeRecord(job, adapter);
        } catch (RuntimeException e) {
            return failed(job, fj.resumedFromStep(), e, t0, progress);
        }
        double secs = seconds(t0);
        progress.finished(job.name(), "done", String.format("%.1fs, written to %s", secs, job.output()));
        return new JobResult(job, Status.DONE, steps, fj.resumedFromStep(), before, after, secs, null);
    }

    private static JobResult failed(
            BatchManifest.Job job, int resumedAt, Throwable e, long t0, BatchProgress progress) {
        String error = describe(e);
        progress.finished(job.name(), "FAILED", error);
        return new JobResult(job, Status.FAILED, -1, resumedAt, EvalMetrics.NONE, EvalMetrics.NONE, seconds(t0), error);
    }

    private static String describe(Throwable e) {
        return e instanceof RectifyException
                ? e.getMessage()
                : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** {@code <output>/rectify-batch.json}: which job, data and options made the adapter (for people; not read back). */
    private static void writeRecord(BatchManifest.Job job, Adapter adapter) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode r = json.createObjectNode();
        r.put("format", FORMAT);
        r.put("job", job.name());
        r.put("adapter_id", adapter.id());
        r.put("base_model_hash", adapter.baseModelHash());
        r.put("data", job.data().toString());
        if (job.evalData() != null) {
            r.put("eval_data", job.evalData().toString());
        }
        r.put("objective", job.objective().toString());
        ObjectNode opts = r.putObject("options");
        job.options().forEach(opts::set);
        r.put("finished", Instant.now().toString());
        try {
            AtomicFile.write(
                    job.output().resolve(RECORD),
                    json.writerWithDefaultPrettyPrinter().writeValueAsBytes(r));
        } catch (IOException e) {
            throw new RectifyException("cannot write " + job.output().resolve(RECORD) + ": " + e.getMessage(), e);
        }
    }

    private static void printSummary(PrintWriter o, List<JobResult> results, double seconds) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"job", "status", "steps", "held-out NLL before -> after", "time", "output or error"});
        for (JobResult r : results) {
            String steps = r.steps() < 0
                    ? "-"
                    : r.resumedAt() >= 0
                            ? r.steps() + " (resumed at " + r.resumedAt() + ")"
                            : String.valueOf(r.steps());
            String nll = r.status() == Status.FAILED
                    ? "-"
                    : r.before().isEmpty()
                            ? "n/a (no held-out data)"
                            : String.format(
                                    "%.4f -> %.4f", r.before().nll(), r.after().nll());
            rows.add(new String[] {
                r.job().name(),
                r.statusText(),
                steps,
                nll,
                String.format("%.1fs", r.seconds()),
                r.status() == Status.FAILED ? r.error() : r.job().output().toString()
            });
        }
        int[] w = new int[rows.get(0).length - 1];
        for (String[] row : rows) {
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.max(w[i], row[i].length());
            }
        }
        o.println();
        for (String[] row : rows) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                s.append(String.format("%-" + w[i] + "s  ", row[i]));
            }
            o.println(s.append(row[w.length]).toString().stripTrailing());
        }
        long done = results.stream().filter(r -> r.status() == Status.DONE).count();
        long skipped =
                results.stream().filter(r -> r.status() == Status.SKIPPED).count();
        long failed = results.stream().filter(r -> r.status() == Status.FAILED).count();
        o.printf(
                "%d jobs: %d done, %d skipped (already done), %d failed, in %.1fs%n",
                results.size(), done, skipped, failed, seconds);
        o.flush();
    }

    /** {@code <out>/<manifest name>.summary.json}: the summary for scripts. */
    private void writeSummary(PrintWriter err, Path outDir, List<JobResult> results) {
        String base = manifest.getFileName().toString().replaceFirst("\\.jsonl?$", "");
        Path file = outDir.resolve(base + ".summary.json");
        ObjectMapper json = new ObjectMapper();
        ArrayNode arr = json.createArrayNode();
        for (JobResult r : results) {
            ObjectNode n = arr.addObject();
            n.put("job", r.job().name());
            n.put("line", r.job().line());
            n.put("status", r.statusText());
            if (r.steps() >= 0) {
                n.put("steps", r.steps());
            }
            if (r.resumedAt() >= 0) {
                n.put("resumed_at_step", r.resumedAt());
            }
            if (!r.before().isEmpty()) {
                n.put("nll_before", r.before().nll());
                n.put("nll_after", r.after().nll());
            }
            n.put("seconds", Math.round(r.seconds() * 1000) / 1000.0);
            n.put("output", r.job().output().toString());
            if (r.error() != null) {
                n.put("error", r.error());
            }
        }
        try {
            AtomicFile.write(file, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(arr));
        } catch (IOException e) {
            err.println("rectify: warning: cannot write the summary " + file + ": " + e.getMessage());
        }
    }
}
