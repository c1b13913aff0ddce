package dev.rectify.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.ort.ArenaGrowth;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Device;
import dev.rectify.ort.OrtRuntime;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.TrainingSession;
import dev.rectify.train.ArtifactBuilder;
import dev.rectify.train.Checkpointing;
import dev.rectify.train.TrainingArtifacts;
import dev.rectify.train.TrainingPlan;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Scale benchmark: LoRA (r=8 on the seven Llama projections, DFT, AdamW, clip 1.0) on random-weight Llama shapes of
 * real models, Rectify vs PyTorch, each side in its own process one after the other (so that peak RSS is each
 * side's own): artifact build time, peak Java heap, peak RSS (build, and session creation plus steps), step time and
 * tokens/s. The driver ({@code src-test/bench/scale-bench.sh}) starts one child JVM per shape
 * ({@code --child SHAPE}) and then the peer ({@code torch_train_peer.py train}) on the same weights and batch.
 * <p>
 * Shapes (vocabulary, layers, hidden, heads/kv-heads, MLP): {@code 30m} (8192, 8, 512, 8/4, 1536), {@code 125m}
 * (32000, 12, 768, 12/4, 2816), {@code 313m} (32000, 24, 1024, 16/8, 2816), {@code 0.5b} (Qwen2.5-0.5B: 151936, 24,
 * 896, 14/2, 4864), {@code 1.5b} (Qwen2.5-1.5B: 151936, 28, 1536, 12/2 with head dim 128, 8960). Peak RSS is the
 * kernel's high-water mark (VmHWM), reset between phases through {@code /proc/self/clear_refs}.
 * <pre>java -cp ... dev.rectify.bench.ScaleBench [--shapes 30m,125m] [--threads 2] [--batch 2] [--seq 128]
 *     [--warmup 1] [--steps 3] [--xmx 1g] [--work DIR] [--peer true]
 *     [--ort key=value | arena=0 | arena=same | pattern=0 | profile=DIR]... [--reuse-artifacts false] [--checkpointing none|layers|selective] [--loss-chunks K]
 *     [--full false]</pre>
 * <p>Size: one benchmark program: it builds each shape, runs Rectify and the PyTorch peer in the same run and prints one table.
 */
public final class ScaleBench {
    private static final Path PEER = Path.of("src-test/bench/torch_train_peer.py");
    private static final float LR = 1e-4f;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A random Llama shape: vocabulary, layers, hidden, heads, kv heads, head dim, MLP. */
    record Shape(String name, int vocab, int layers, int hidden, int heads, int kvHeads, int headDim, int mlp) {
        static Shape of(String name) {
            return switch (name) {
                case "30m" -> new Shape(name, 8192, 8, 512, 8, 4, 64, 1536);
                case "125m" -> new Shape(name, 32000, 12, 768, 12, 4, 64, 2816);
                case "313m" -> new Shape(name, 32000, 24, 1024, 16, 8, 64, 2816);
                case "0.5b" -> new Shape(name, 151936, 24, 896, 14, 2, 64, 4864);
                case "1.5b" -> new Shape(name, 151936, 28, 1536, 12, 2, 128, 8960);
                default ->
                    throw new IllegalArgumentException("unknown shape " + name + " (30m, 125m, 313m, 0.5b, 1.5b)");
            };
        }

        /** Parameter count (tied embeddings, RMSNorm weights, no biases). */
        long parameters() {
            long attn = (long) hidden * heads * headDim * 2 + (long) hidden * kvHeads * headDim * 2;
            return (long) vocab * hidden + layers * (attn + 3L * hidden * mlp + 2L * hidden) + hidden;
        }
    }

    private ScaleBench() {}

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        if (o.child != null) {
            child(o);
        } else {
            driver(o);
        }
    }

    // ---- the driver: one child JVM per shape, then the peer ----

    private static void driver(Options o) throws IOException, InterruptedException {
        Files.createDirectories(o.work);
        System.out.printf(
                "scale benchmark: ONNX Runtime %s, Java %s, %d cores, %d threads, batch %dx%d, %s, DFT, AdamW, "
                        + "clip 1.0, checkpointing %s, %d warmup + %d timed steps; Rectify child JVMs -Xmx%s%n",
                OrtRuntime.get().version(),
                Runtime.version(),
                Runtime.getRuntime().availableProcessors(),
                o.threads,
                o.batch,
                o.seq,
                o.full ? "full fine-tuning" : "LoRA r=8 alpha 16 on q/k/v/o/gate/up/down",
                o.checkpointing,
                o.warmup,
                o.steps,
                o.xmx);
        System.out.println("uptime at start: " + uptime());
        List<JsonNode[]> rows = new ArrayList<>();
        for (String name : o.shapes) {
            Shape s = Shape.of(name);
            Path dir = export(o.work.resolve("llama-" + name), s);
            String cp = System.getProperty("java.class.path");
            List<String> cmd = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx" + o.xmx,
                    "-Dai.djl.offline=true",
                    "-DOPT_OUT_TRACKING=true",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp",
                    cp,
                    ScaleBench.class.getName(),
                    "--child",
                    name));
            cmd.addAll(o.childArgs());
            System.out.printf(
                    "%n== %s: %s ==%nrectify: %s%n",
                    name, s, String.join(" ", cmd.subList(0, 2)) + " ... --child " + name);
            JsonNode r = BenchSupport.runPeer(cmd);
            JsonNode p = JSON.createObjectNode();
            if (o.peer) {
                String t = String.valueOf(o.threads);
                List<String> pc = List.of(
                        "/usr/bin/env",
                        "OMP_NUM_THREADS=" + t,
                        "OPENBLAS_NUM_THREADS=" + t,
                        "MKL_NUM_THREADS=" + t,
                        "OMP_WAIT_POLICY=PASSIVE",
                        BenchSupport.python(),
                        PEER.toString(),
                        "train",
                        r.path("batch_file").asText(),
                        "--model-dir",
                        dir.toString(),
                        "--threads",
                        t,
                        "--rank",
                        "8",
                        "--alpha",
                        "16",
                        "--warmup",
                        String.valueOf(o.warmup),
                        "--steps",
                        String.valueOf(o.steps),
                        "--lr",
                        String.valueOf(LR),
                        "--max-grad-norm",
                        "1.0",
                        "--objectives",
                        "dft",
                        "--full",
                        String.valueOf(o.full));
                System.out.println("peer: " + String.join(" ", pc));
                p = BenchSupport.runPeer(pc);
            }
            rows.add(new JsonNode[] {r, p});
            System.out.println("uptime: " + uptime());
        }
        System.out.printf(
                "%nmachine: %d cores; uptime at end: %s%n%n",
                Runtime.getRuntime().availableProcessors(), uptime());
        System.out.println(
                "| shape | params | Rectify build (s) | Rectify peak heap (MB) | Rectify peak RSS build / train (MB) "
                        + "| PyTorch peak RSS load / train (MB) | Rectify step (s) | PyTorch step (s) | Rectify tokens/s "
                        + "| PyTorch tokens/s |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        for (JsonNode[] row : rows) {
            JsonNode r = row[0];
            JsonNode p = row[1];
            JsonNode pd = p.path("dft");
            System.out.printf(
                    "| %s | %.0fM | %.2f | %.0f | %.0f / %.0f | %s | %.3f | %s | %.0f | %s |%n",
                    r.path("shape").asText(),
                    r.path("parameters").asDouble() / 1e6,
                    r.path("build_s").asDouble(),
                    r.path("peak_heap_mb").asDouble(),
                    r.path("peak_rss_build_mb").asDouble(),
                    r.path("peak_rss_train_mb").asDouble(),
                    p.has("peak_rss_train_kb")
                            ? String.format(
                                    "%.0f / %.0f",
                                    p.path("peak_rss_load_kb").asDouble() / 1024,
                                    p.path("peak_rss_train_kb").asDouble() / 1024)
                            : "-",
                    r.path("step_s").asDouble(),
                    pd.has("step_s") ? String.format("%.3f", pd.path("step_s").asDouble()) : "-",
                    r.path("tokens_per_s").asDouble(),
                    pd.has("tokens_per_s")
                            ? String.format("%.0f", pd.path("tokens_per_s").asDouble())
                            : "-");
        }
    }

    // ---- the child: one shape, Rectify only ----

    private static void child(Options o) throws IOException {
        Shape s = Shape.of(o.child);
        Path dir = o.work.resolve("llama-" + s.name());
        Path model = dir.resolve("model.onnx");
        TrainingPlan.Builder pb = TrainingPlan.builder();
        if (o.full) {
            pb.fullFineTuning();
        } else {
            pb.lora(LoraConfig.builder()
                    .rank(8)
                    .alpha(16)
                    .targetModules(LoraConfig.LLAMA_TARGETS)
                    .build());
        }
        TrainingPlan plan = pb.objective(Objective.DFT)
                .checkpointing(o.checkpointing)
                .lossChunks(o.lossChunks)
                .microBatchTokens((long) o.batch * o.seq)
                .build();
        MemoryProbe.resetPeak();
        long t0 = System.nanoTime();
        Path artifacts = o.work.resolve("artifacts-" + s.name());
        TrainingArtifacts a = o.reuse
                ? TrainingArtifacts.fromDirectory(artifacts)
                : ArtifactBuilder.defaults().build(model, plan, artifacts);
        double build = (System.nanoTime() - t0) / 1e9;
        long rssBuild = MemoryProbe.peakRssKb();
        System.out.printf(
                "build: %.2f s, peak RSS %d MB, heap peak %d MB%n",
                build, rssBuild / 1024, MemoryProbe.peakHeapBytes() >> 20);
        System.gc();
        MemoryProbe.resetPeak();

        StepInputs in = StepInputs.random(s.vocab(), o.batch, o.seq, new SplittableRandom(1234));
        Path batchFile = o.work.resolve("batch-" + s.name() + ".json");
        Files.writeString(batchFile, JSON.writeValueAsString(Map.of("input_ids", in.rows())));
        SessionConfig.Builder scb =
                Device.cpu(o.threads).sessionConfig().toBuilder().spinning(false);
        for (String e : o.ortEntries) {
            if (e.equals("arena=0")) {
                scb.cpuArena(false);
                continue;
            }
            if (e.equals("arena=same")) {
                scb.arenaGrowth(ArenaGrowth.AS_REQUESTED);
                continue;
            }
            if (e.equals("pattern=0")) {
                scb.memoryPattern(false);
                continue;
            }
            if (e.startsWith("profile=")) { // ORT's profiler: traces under this folder (ort-profile-summary.py)
                Path traces = Path.of(e.substring("profile=".length()));
                Files.createDirectories(traces);
                scb.profiling(traces.resolve(s.name()));
                continue;
            }
            int eq = e.indexOf('=');
            scb.entry(e.substring(0, eq), e.substring(eq + 1));
        }
        SessionConfig sc = scb.build();
        List<Double> times = new ArrayList<>();
        double firstLoss;
        long rssSession;
        TrainingSession.setSeed(0);
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession ts =
                        TrainingSession.create(sc, st, a.trainingModel(), a.evalModel(), a.optimizerModel())) {
            ts.setLearningRate(LR);
            rssSession = MemoryProbe.rssKb();
            System.out.printf("session: RSS %d MB (%s)%n", rssSession / 1024, MemoryProbe.rssBreakdown());
            firstLoss = Double.NaN;
            for (int i = 0; i < o.warmup + o.steps; i++) {
                long ts0 = System.nanoTime();
                double[] lossNll = in.step(ts);
                double dt = (System.nanoTime() - ts0) / 1e9;
                if (i == 0) {
                    firstLoss = lossNll[0];
                }
                if (i >= o.warmup) {
                    times.add(dt);
                }
                System.out.printf(
                        "step %d: %.3f s, loss %.5f, nll %.5f, RSS %d MB (%s)%s%n",
                        i + 1,
                        dt,
                        lossNll[0],
                        lossNll[1],
                        MemoryProbe.rssKb() / 1024,
                        MemoryProbe.rssBreakdown(),
                        i >= o.warmup ? "" : " (warmup)");
            }
        }
        double step = BenchSupport.median(times);
        ObjectNode r = JSON.createObjectNode();
        r.put("shape", s.name());
        r.put("parameters", s.parameters());
        r.put("build_s", build);
        r.put("peak_heap_mb", MemoryProbe.peakHeapBytes() / 1048576.0);
        r.put("peak_rss_build_mb", rssBuild / 1024.0);
        r.put("rss_session_mb", rssSession / 1024.0);
        r.put("peak_rss_train_mb", MemoryProbe.peakRssKb() / 1024.0);
        r.put("step_s", step);
        r.put("tokens_per_s", in.tokens() / step);
        r.put("first_loss", firstLoss);
        r.put("batch_file", batchFile.toString());
        System.out.println(r);
    }

    private static Path export(Path dir, Shape s) throws IOException, InterruptedException {
        BenchSupport.runPeer(List.of(
                BenchSupport.python(),
                PEER.toString(),
                "export",
                dir.toString(),
                "--layers",
                String.valueOf(s.layers()),
                "--hidden",
                String.valueOf(s.hidden()),
                "--intermediate",
                String.valueOf(s.mlp()),
                "--heads",
                String.valueOf(s.heads()),
                "--kv-heads",
                String.valueOf(s.kvHeads()),
                "--head-dim",
                String.valueOf(s.headDim()),
                "--vocab",
                String.valueOf(s.vocab())));
        return dir;
    }

    private static String uptime() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Peak RSS (VmHWM, resettable) and peak heap (sum of the heap pools' peaks) of this JVM. */
    static final class MemoryProbe {
        private MemoryProbe() {}

        static void resetPeak() {
            try {
                Files.writeString(Path.of("/proc/self/clear_refs"), "5", StandardOpenOption.WRITE);
            } catch (IOException e) {
                System.out.println("cannot reset the RSS high-water mark: " + e);
            }
        }

        static long peakRssKb() {
            return status("VmHWM");
        }

        static long rssKb() {
            return status("VmRSS");
        }

        static String rssBreakdown() {
            return "anonymous " + status("RssAnon") / 1024 + " MB, file-backed " + status("RssFile") / 1024 + " MB";
        }

        static long peakHeapBytes() {
            long sum = 0;
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP) {
                    sum += p.getPeakUsage().getUsed();
                }
            }
            return sum;
        }

        private static long status(String field) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith(field + ":")) {
                        return Long.parseLong(
                                line.substring(field.length() + 1).trim().split("\\s+")[0]);
                    }
                }
            } catch (IOException | NumberFormatException e) {
                return -1;
            }
            return -1;
        }
    }

    /** Command-line options. */
    private static final class Options {
        List<String> shapes = List.of("30m", "125m");
        String child;
        int threads = 2;
        int batch = 2;
        int seq = 128;
        int warmup = 1;
        int steps = 3;
        String xmx = "1g";
        Path work = Path.of("src-test/target/scale-bench");
        boolean peer = true;
        boolean reuse;
        boolean full;
        Checkpointing checkpointing = Checkpointing.NONE;
        int lossChunks;
        List<String> ortEntries = new ArrayList<>();

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--shapes" -> o.shapes = List.of(args[++i].split(","));
                    case "--child" -> o.child = args[++i];
                    case "--threads" -> o.threads = Integer.parseInt(args[++i]);
                    case "--batch" -> o.batch = Integer.parseInt(args[++i]);
                    case "--seq" -> o.seq = Integer.parseInt(args[++i]);
                    case "--warmup" -> o.warmup = Integer.parseInt(args[++i]);
                    case "--steps" -> o.steps = Integer.parseInt(args[++i]);
                    case "--xmx" -> o.xmx = args[++i];
                    case "--work" -> o.work = Path.of(args[++i]);
                    case "--peer" -> o.peer = Boolean.parseBoolean(args[++i]);
                    case "--reuse-artifacts" -> o.reuse = Boolean.parseBoolean(args[++i]);
                    case "--ort" -> o.ortEntries.add(args[++i]);
                    case "--checkpointing" -> o.checkpointing = checkpointing(args[++i]);
                    case "--loss-chunks" -> o.lossChunks = Integer.parseInt(args[++i]);
                    case "--full" -> o.full = Boolean.parseBoolean(args[++i]);
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            return o;
        }

        List<String> childArgs() {
            List<String> a = new ArrayList<>();
            for (String e : ortEntries) {
                a.add("--ort");
                a.add(e);
            }
            a.addAll(List.of(
                    "--threads",
                    String.valueOf(threads),
                    "--batch",
                    String.valueOf(batch),
                    "--seq",
                    String.valueOf(seq),
                    "--warmup",
                    String.valueOf(warmup),
                    "--steps",
                    String.valueOf(steps),
                    "--work",
                    work.toString(),
                    "--checkpointing",
                    String.valueOf(checkpointing),
                    "--loss-chunks",
                    String.valueOf(lossChunks),
                    "--full",
                    String.valueOf(full),
                    "--reuse-artifacts",
                    String.valueOf(reuse)));
            return a;
        }
    }

    /** {@code --checkpointing}: none, layers or selective ({@code true}/{@code false} mean layers/none). */
    private static Checkpointing checkpointing(String v) {
        return switch (v.toLowerCase(java.util.Locale.ROOT)) {
            case "true" -> Checkpointing.LAYERS;
            case "false" -> Checkpointing.NONE;
            default -> Checkpointing.valueOf(v.toUpperCase(java.util.Locale.ROOT));
        };
    }
}
