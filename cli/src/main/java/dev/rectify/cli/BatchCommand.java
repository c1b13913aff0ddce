package dev.rectify.cli;

import dev.rectify.Rectify;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.adapter.Adapter;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import dev.rectify.core.Example;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.data.JsonlDataset;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.train.EvalMetrics;
import dev.rectify.train.TrainingResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code rectify batch MANIFEST}: many fine-tuning jobs from a JSONL manifest, a bounded number at a time, resumable.
 * A job whose output already holds an adapter made from the same inputs (data, eval data, objective, options, base
 * model) is skipped; an interrupted one resumes from the last checkpoint in {@code <out>/runs/<name>}; a failing one
 * (bad data, say) fails alone. Ends with a summary table; exit code 3 when any job failed.
 */
@Command(name = "batch", mixinStandardHelpOptions = true,
        description = {"Run many fine-tuning jobs from a JSONL manifest, one job a line:",
            "  {\"name\": \"math-dft\", \"data\": \"data/math/train.jsonl\",",
            "   \"objective\": \"dft\", \"options\": {\"max_steps\": 100, \"lora_rank\": 8,",
            "   \"eval_data\": \"data/math/heldout.jsonl\"}, \"output\": \"adapters/math-dft\"}",
            "data and eval_data are relative to the manifest's folder; output",
            "(default adapters/<name>) is relative to --out.",
            "Options (defaults as in rectify finetune): epochs, max_steps, lora_rank,",
            "lora_alpha, lora_targets, full, learning_rate, schedule, warmup_ratio,",
            "batch_size, micro_batch_size, max_seq_length, seed, eval_data,",
            "eval_fraction, eval_every, early_stopping_patience, weight_decay,",
            "max_grad_norm, checkpoint_every.",
            "Run it again after an interruption: finished jobs are skipped, interrupted",
            "ones resume from their checkpoint in <out>/runs/<name>.",
            "Exit code: 0 when every job succeeded or was already done, 3 when any",
            "failed, 1 or 2 for a bad manifest or command line.", ""})
final class BatchCommand implements Callable<Integer> {
    /** The exit code when one or more jobs failed. */
    static final int EXIT_JOBS_FAILED = 3;
    /** Written into each finished adapter folder: the inputs it was made from. */
    static final String RECORD = "rectify-batch.json";
    /** Written into each run folder: the inputs its checkpoints belong to. */
    static final String RUN_INPUTS = "batch-inputs.txt";
    private static final String FORMAT = "rectify-batch/1";

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MANIFEST", description = "The jobs, JSON Lines.")
    Path manifest;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR",
            description = "Folder for outputs given as relative paths, run checkpoints (runs/<name>) and the summary "
                    + "(default: the manifest's folder).")
    Path out;

    @Option(names = {"-j", "--parallel"}, paramLabel = "N", defaultValue = "1",
            description = "Jobs run at once (default ${DEFAULT-VALUE}); with N > 1 on the CPU give each a share of the "
                    + "cores, e.g. --device cpu:4.")
    int parallel;

    @Option(names = {"-m", "--model"}, paramLabel = "DIR", description = "Model folder. Default: the bundled model.")
    Path model;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cpu:THREADS, cuda or cuda:ID (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--checkpoint-every", paramLabel = "STEPS", defaultValue = "0",
            description = "Checkpoint every STEPS steps, for jobs without checkpoint_every (default: about 20 "
                    + "checkpoints a job, at least one step apart).")
    int checkpointEvery;

    /** How a job ended. */
    enum Status { DONE, SKIPPED, FAILED }

    /** One line of the summary. {@code resumedAt} is the checkpoint step a job resumed from, or -1. */
    record JobResult(BatchManifest.Job job, Status status, int steps, int resumedAt, EvalMetrics before, EvalMetrics after,
            double seconds, String error) {
        String statusText() {
            return status.name().toLowerCase(java.util.Locale.ROOT);
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
        Path outDir = (out != null ? out : manifest.toAbsolutePath().getParent()).toAbsolutePath().normalize();
        List<BatchManifest.Job> jobs = BatchManifest.read(manifest, outDir);
        Device dev = Device.parse(device);
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path runs = outDir.resolve("runs");
        List<JobResult> results = new ArrayList<>();
        long started = System.nanoTime();
        try (BaseModel m = Models.open(model, dev);
                BatchProgress progress = new BatchProgress(err, jobs.size(), System.console() != null)) {
            String baseHash = m.contentHash();
            int threads = Math.min(parallel, jobs.size());
            AtomicInteger n = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "rectify-batch-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
            try {
                List<Future<JobResult>> futures = new ArrayList<>();
                for (BatchManifest.Job job : jobs) {
                    futures.add(pool.submit(() -> runJob(job, m, baseHash, runs, progress)));
                }
                for (int i = 0; i < jobs.size(); i++) {
                    results.add(await(futures.get(i), jobs.get(i)));
                }
            } finally {
                pool.shutdownNow();
            }
        }
        try {
            Files.deleteIfExists(runs); // only when empty: checkpoints of unfinished jobs stay
        } catch (IOException e) {
            // not empty, or not ours to remove
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        printSummary(o, results, seconds);
        writeSummary(err, outDir, results);
        List<JobResult> failed = results.stream().filter(r -> r.status() == Status.FAILED).toList();
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

    private static JobResult await(Future<JobResult> f, BatchManifest.Job job) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RectifyException("interrupted while waiting for job '" + job.name() + "'", e);
        } catch (ExecutionException e) {
            // runJob catches what a job throws; this is an Error (out of memory, say)
            return new JobResult(job, Status.FAILED, -1, -1, EvalMetrics.NONE, EvalMetrics.NONE, 0, describe(e.getCause()));
        }
    }

    /** Runs (or skips) one job; every exception becomes a failed result, so one job cannot stop the others. */
    private JobResult runJob(BatchManifest.Job job, BaseModel model, String baseHash, Path runs, BatchProgress progress) {
        long t0 = System.nanoTime();
        String name = job.name();
        int resumedAt = -1;
        try {
            Inputs inputs = inputs(job, baseHash);
            Adapter done = finished(job, inputs.hash());
            if (done != null) {
                removeStaleRunDir(runs.resolve(name), inputs.hash()); // left by a kill just after the adapter was written
                TrainingResult r = done.result().orElse(null);
                progress.finished(name, "skipped", "already done in " + job.output());
                return new JobResult(job, Status.SKIPPED, r == null ? -1 : r.steps(), -1,
                        r == null ? EvalMetrics.NONE : r.initialEval(), r == null ? EvalMetrics.NONE : r.finalEval(),
                        seconds(t0), null);
            }
            checkOutputReplaceable(job.output());
            List<Example> examples = JsonlDataset.read(job.data());
            FineTuneOptions.Builder b = job.optionsBuilder();
            if (job.evalData() != null) {
                b.evalExamples(JsonlDataset.read(job.evalData()));
            }
            if (job.checkpointEvery() < 0) {
                b.checkpointEvery(checkpointEvery > 0 ? checkpointEvery : autoCheckpointEvery(b.build(), examples.size()));
            }
            Path runDir = runs.resolve(name);
            resumedAt = prepareRunDir(runDir, inputs.hash());
            b.runDir(runDir).resume(resumedAt >= 0).onProgress(p -> progress.update(name, p));
            progress.started(name, resumedAt >= 0 ? "resuming from the checkpoint of step " + resumedAt + " in " + runDir
                    : "started");
            Adapter adapter = Rectify.fineTune(model, examples, b.build());
            AdapterFiles.write(adapter, job.output());
            writeRecord(job, inputs, adapter);
            try {
                deleteTree(runDir); // the adapter is safe: its checkpoints are no longer needed
            } catch (RectifyException e) {
                // best effort: a leftover run folder only costs disk
            }
            TrainingResult r = adapter.result().orElseThrow();
            double secs = seconds(t0);
            progress.finished(name, "done", String.format("%.1fs, written to %s", secs, job.output()));
            return new JobResult(job, Status.DONE, r.steps(), resumedAt, r.initialEval(), r.finalEval(), secs, null);
        } catch (RuntimeException e) {
            String error = describe(e);
            progress.finished(name, "FAILED", error);
            return new JobResult(job, Status.FAILED, -1, resumedAt, EvalMetrics.NONE, EvalMetrics.NONE, seconds(t0), error);
        }
    }

    private static String describe(Throwable e) {
        return e instanceof RectifyException ? e.getMessage()
                : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    /** About 20 checkpoints over the job's estimated steps, at least one step apart. */
    static int autoCheckpointEvery(FineTuneOptions o, int examples) {
        long steps = o.maxSteps() > 0 ? o.maxSteps() : (long) o.epochs() * Math.max(1, (examples + o.batchSize() - 1) / o.batchSize());
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (steps + 19) / 20));
    }

    /** What a job's adapter is made from, hashed. */
    record Inputs(String hash, String dataSha256, String evalDataSha256, String options, String baseHash) { }

    private static Inputs inputs(BatchManifest.Job job, String baseHash) {
        String data = sha256(job.data(), "data file");
        String eval = job.evalData() == null ? null : sha256(job.evalData(), "eval_data file");
        // the canonical options hold everything that determines the weights (not the run folder or the cadence)
        String options = job.optionsBuilder().build().canonical();
        String text = FORMAT + "\nbase=" + baseHash + "\ndata=" + data + "\neval=" + (eval == null ? "split" : eval)
                + "\noptions=" + options + "\n";
        return new Inputs(sha256(text.getBytes(StandardCharsets.UTF_8)), data, eval, options, baseHash);
    }

    /** The adapter in the job's output when it was made from {@code inputs} and is intact, else null. */
    private static Adapter finished(BatchManifest.Job job, String inputs) {
        Path record = job.output().resolve(RECORD);
        if (!Files.isRegularFile(record)) {
            return null;
        }
        try {
            if (!inputs.equals(new ObjectMapper().readTree(record.toFile()).path("inputs").asText())) {
                return null; // other data or options: train again
            }
            return AdapterFiles.read(job.output(), null); // verifies the checksums
        } catch (IOException | RuntimeException e) {
            return null; // unreadable or corrupt: train again
        }
    }

    /** Refuses to replace a folder that is not an adapter (an output path pointing at the wrong place). */
    private static void checkOutputReplaceable(Path output) {
        if (!Files.isDirectory(output)) {
            if (Files.exists(output)) {
                throw new InvalidArgumentException("output " + output + " exists and is not a folder: refusing to replace it");
            }
            return;
        }
        try (Stream<Path> s = Files.list(output)) {
            boolean empty = s.findAny().isEmpty();
            if (!empty && !Files.exists(output.resolve(AdapterFiles.MANIFEST)) && !Files.exists(output.resolve(AdapterFiles.WEIGHTS))) {
                throw new InvalidArgumentException("output " + output + " exists and is not an adapter folder: refusing to "
                        + "replace it (choose another output)");
            }
        } catch (IOException e) {
            throw new RectifyException("cannot read " + output + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes {@code runDir} ready: keeps it when it belongs to the same inputs (returning the step of its checkpoint,
     * or -1 when it has none yet), otherwise empties it and records the inputs.
     */
    private static int prepareRunDir(Path runDir, String inputs) {
        try {
            if (Files.isDirectory(runDir)) {
                Path rec = runDir.resolve(RUN_INPUTS);
                if (Files.isRegularFile(rec) && Files.readString(rec).strip().equals(inputs)) {
                    return checkpointStep(runDir);
                }
                deleteTree(runDir); // checkpoints of other inputs cannot be resumed
            }
            Files.createDirectories(runDir);
            Path tmp = runDir.resolve("." + RUN_INPUTS + ".tmp");
            Files.writeString(tmp, inputs + "\n");
            Files.move(tmp, runDir.resolve(RUN_INPUTS), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return -1;
        } catch (IOException e) {
            throw new RectifyException("cannot prepare the run folder " + runDir + ": " + e.getMessage(), e);
        }
    }

    /** Deletes {@code runDir} when it holds checkpoints of {@code inputs}, whose adapter is already written. */
    private static void removeStaleRunDir(Path runDir, String inputs) {
        try {
            Path rec = runDir.resolve(RUN_INPUTS);
            if (Files.isRegularFile(rec) && Files.readString(rec).strip().equals(inputs)) {
                deleteTree(runDir);
            }
        } catch (IOException | RectifyException e) {
            // best effort
        }
    }

    /** The step of the newest complete checkpoint in {@code runDir}, or -1. */
    private static int checkpointStep(Path runDir) throws IOException {
        Path latest = runDir.resolve("latest");
        if (!Files.isRegularFile(latest)) {
            return -1;
        }
        String name = Files.readString(latest).strip();
        if (!name.matches("step-\\d+") || !Files.isDirectory(runDir.resolve(name))) {
            return -1;
        }
        return Integer.parseInt(name.substring(5));
    }

    private static void writeRecord(BatchManifest.Job job, Inputs inputs, Adapter adapter) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode r = json.createObjectNode();
        r.put("format", FORMAT);
        r.put("job", job.name());
        r.put("inputs", inputs.hash());
        r.put("adapter_id", adapter.id());
        r.put("base_model_hash", inputs.baseHash());
        r.put("data", job.data().toString());
        r.put("data_sha256", inputs.dataSha256());
        if (job.evalData() != null) {
            r.put("eval_data", job.evalData().toString());
            r.put("eval_data_sha256", inputs.evalDataSha256());
        }
        r.put("objective", job.objective().toString());
        ObjectNode opts = r.putObject("options");
        job.options().forEach(opts::set);
        r.put("canonical_options", inputs.options());
        r.put("finished", Instant.now().toString());
        Path tmp = job.output().resolve("." + RECORD + ".tmp");
        try {
            Files.write(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(r));
            Files.move(tmp, job.output().resolve(RECORD), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new RectifyException("cannot write " + job.output().resolve(RECORD) + ": " + e.getMessage(), e);
        }
    }

    private static void printSummary(PrintWriter o, List<JobResult> results, double seconds) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"job", "status", "steps", "held-out NLL before -> after", "time", "output or error"});
        for (JobResult r : results) {
            String steps = r.steps() < 0 ? "-" : r.resumedAt() >= 0 ? r.steps() + " (resumed at " + r.resumedAt() + ")"
                    : String.valueOf(r.steps());
            String nll = r.status() == Status.FAILED ? "-" : r.before().isEmpty() ? "n/a (no held-out data)"
                    : String.format("%.4f -> %.4f", r.before().nll(), r.after().nll());
            rows.add(new String[] {r.job().name(), r.statusText(), steps, nll, String.format("%.1fs", r.seconds()),
                r.status() == Status.FAILED ? r.error() : r.job().output().toString()});
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
        long skipped = results.stream().filter(r -> r.status() == Status.SKIPPED).count();
        long failed = results.stream().filter(r -> r.status() == Status.FAILED).count();
        o.printf("%d jobs: %d done, %d skipped (already done), %d failed, in %.1fs%n", results.size(), done, skipped, failed,
                seconds);
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
            Files.createDirectories(outDir);
            Path tmp = outDir.resolve("." + file.getFileName() + ".tmp");
            Files.write(tmp, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(arr));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            err.println("rectify: warning: cannot write the summary " + file + ": " + e.getMessage());
        }
    }

    private static String sha256(Path file, String what) {
        MessageDigest md = digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int k; (k = in.read(buf)) > 0;) {
                md.update(buf, 0, k);
            }
        } catch (NoSuchFileException e) {
            throw new InvalidArgumentException(file + ": " + what + " not found");
        } catch (IOException e) {
            throw new InvalidArgumentException(file + ": cannot read the " + what + ": " + e.getMessage());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new RectifyException("cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }
}
