package dev.rectify.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Device;
import dev.rectify.ort.OrtRuntime;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import dev.rectify.train.ArtifactBuilder;
import dev.rectify.train.ObjectiveHead;
import dev.rectify.train.TrainingArtifacts;
import dev.rectify.train.TrainingPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Training benchmark: LoRA (r=8, alpha 16, all seven Llama projections) fine-tuning steps — forward, backward,
 * global-norm clipping to 1.0, AdamW(0.9, 0.95, 1e-8, wd 0.01) — on one batch of random token ids (8×128 by default,
 * attention mask all ones, labels the next token), timed for Rectify (ONNX Runtime's training API over the artifacts
 * {@link ArtifactBuilder} writes) and for the PyTorch peer ({@code src-test/bench/torch_train_peer.py}, same weights
 * read from the same model.onnx, same batch, same objective, same optimizer, same thread count), in one run.
 * <p>
 * Printed: training tokens/s of each for SFT and DFT (median step time after warmup; the two objectives alternate
 * step by step so that both see the same machine load), the Rectify/PyTorch ratio, the DFT-over-SFT step-time
 * overhead of each, and the time {@link ArtifactBuilder#build} takes for random Llama exports of 2, 8 and 24 layers.
 * Models: the bundled {@code models/rectify-tiny} and a random-weight ~30M-parameter Llama exported by the peer script
 * (into {@code --work}, reused when present).
 * <p>
 * Thread pools wait passively on both sides by default: the peer runs with {@code OMP_WAIT_POLICY=PASSIVE} and ORT
 * with {@code session.intra_op.allow_spinning=0}. On a 2-core machine shared with other work, spin-waiting made
 * both 2-6x slower and erratic; {@code --ort-spinning true} measures ORT's default.
 * <pre>java -cp ... dev.rectify.bench.TrainBench [--threads 2] [--batch 8] [--seq 128] [--warmup 2] [--steps 5]
 *     [--models tiny,llama30m] [--layers 2,8,24] [--build-runs 3] [--work DIR] [--ort-spinning false]
 *     [--peer true] [--profile DIR]</pre>
 * <p>{@code --profile DIR} turns on ONNX Runtime's profiler for the training sessions (one Chrome-trace JSON per
 * session graph under DIR, named after the model; summarise them with {@code src-test/bench/ort-profile-summary.py}).
 * Profiling slows the steps, so the tables of a profiled run are not benchmark figures.
 * <p>Size: one benchmark program: it builds each model, runs Rectify and the PyTorch peer in the same run and prints one table.
 */
public final class TrainBench {
    private static final Path PEER = Path.of("src-test/bench/torch_train_peer.py");
    private static final int RANK = 8;
    private static final double ALPHA = 16;
    private static final float LR = 1e-4f;

    private record StepStats(double stepSeconds, double firstLoss, double firstNll, List<Double> steps) {
        double tokensPerSecond(long tokens) {
            return tokens / stepSeconds;
        }
    }

    private record ModelResult(
            String name,
            long parameters,
            double buildSeconds,
            Map<Objective, StepStats> rectify,
            JsonNode peer,
            long tokens) {}

    public static void main(String[] args) throws Exception {
        int threads = 2;
        int rows = 8;
        int seq = 128;
        int warmup = 2;
        int steps = 5;
        int buildRuns = 3;
        List<String> models = List.of("tiny", "llama30m");
        List<Integer> layers = List.of(2, 8, 24);
        Path work = Path.of("src-test/target/train-bench");
        boolean spinning = false;
        boolean peer = true;
        Path profile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--batch" -> rows = Integer.parseInt(args[++i]);
                case "--seq" -> seq = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--build-runs" -> buildRuns = Integer.parseInt(args[++i]);
                case "--models" -> models = args[++i].isBlank() ? List.of() : List.of(args[i].split(","));
                case "--layers" ->
                    layers = args[++i].isBlank()
                            ? List.of()
                            : Arrays.stream(args[i].split(","))
                                    .map(Integer::parseInt)
                                    .toList();
                case "--work" -> work = Path.of(args[++i]);
                case "--ort-spinning" -> spinning = Boolean.parseBoolean(args[++i]);
                case "--profile" -> profile = Path.of(args[++i]);
                case "--peer" -> peer = Boolean.parseBoolean(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Files.createDirectories(work);
        System.out.printf(
                "training benchmark: ONNX Runtime %s, Java %s, CPU %s (%d cores visible), %d threads for both,"
                        + " batch %dx%d random ids, LoRA r=%d alpha=%s on q/k/v/o/gate/up/down, AdamW(0.9, 0.95, eps 1e-8, wd 0.01),"
                        + " clip 1.0, lr %s, %d warmup + %d timed steps per objective (SFT and DFT alternating)%n",
                OrtRuntime.get().version(),
                Runtime.version(),
                cpuModel(),
                Runtime.getRuntime().availableProcessors(),
                threads,
                rows,
                seq,
                RANK,
                fmt(ALPHA),
                LR,
                warmup,
                steps);
        System.out.println(
                "ORT intra-op spinning: "
                        + (spinning
                                ? "on (ORT's default)"
                                : "off (session.intra_op.allow_spinning=0, "
                                        + "the counterpart of the peer's OMP_WAIT_POLICY=PASSIVE; --ort-spinning true for ORT's default)"));
        System.out.println("load average at start: " + loadAverage());

        List<ModelResult> results = new ArrayList<>();
        for (String m : models) {
            Path dir = switch (m) {
                case "tiny" -> Path.of("models/rectify-tiny");
                case "llama30m" -> export(work.resolve("llama-30m"), 8, 512, 1536, 8, 4, 64, 8192);
                default -> throw new IllegalArgumentException("unknown model " + m + " (tiny, llama30m)");
            };
            results.add(benchModel(m, dir, work, threads, rows, seq, warmup, steps, spinning, peer, profile));
            System.out.println("load average: " + loadAverage());
        }

        Map<Integer, double[]> builds = new LinkedHashMap<>();
        for (int n : layers) {
            Path dir = export(work.resolve("layers-" + n), n, 128, 352, 4, 2, 32, 512);
            builds.put(n, benchBuild(dir, work.resolve("build-" + n), buildRuns));
        }
        String loadEnd = loadAverage();

        System.out.println();
        System.out.printf(
                "machine: %s, %d cores; %d threads for Rectify (intra-op) and PyTorch (torch + OpenBLAS); "
                        + "load average at end: %s%n",
                cpuModel(), Runtime.getRuntime().availableProcessors(), threads, loadEnd);
        if (!results.isEmpty()) {
            System.out.println();
            System.out.println(
                    "| model | params | objective | Rectify tokens/s | PyTorch tokens/s | ratio Rectify/PyTorch "
                            + "| Rectify step (s) | PyTorch step (s) |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            for (ModelResult r : results) {
                for (Objective o : List.of(Objective.SFT, Objective.DFT)) {
                    StepStats s = r.rectify.get(o);
                    JsonNode p = r.peer.path(key(o));
                    double rt = s.tokensPerSecond(r.tokens);
                    double pt = p.path("tokens_per_s").asDouble();
                    boolean ran = p.has("tokens_per_s"); // --peer false leaves the peer's columns empty
                    System.out.printf(
                            "| %s | %.1fM | %s | %.0f | %s | %s | %.3f | %s |%n",
                            r.name,
                            r.parameters / 1e6,
                            o,
                            rt,
                            ran ? String.format("%.0f", pt) : "-",
                            ran ? String.format("%.2fx", rt / pt) : "-",
                            s.stepSeconds,
                            ran ? String.format("%.3f", p.path("step_s").asDouble()) : "-");
                }
            }
            System.out.println();
            System.out.println("| model | Rectify DFT overhead over SFT | PyTorch DFT overhead over SFT "
                    + "| first-step NLL Rectify / PyTorch | LoRA artifact build (s) |");
            System.out.println("|---|---|---|---|---|");
            for (ModelResult r : results) {
                double ro = r.rectify.get(Objective.DFT).stepSeconds / r.rectify.get(Objective.SFT).stepSeconds - 1;
                double po = r.peer.path("dft").path("step_s").asDouble()
                                / r.peer.path("sft").path("step_s").asDouble()
                        - 1;
                boolean ran = r.peer.path("sft").has("first_nll");
                System.out.printf(
                        "| %s | %+.1f%% | %s | %.5f / %s | %.2f |%n",
                        r.name,
                        100 * ro,
                        ran ? String.format("%+.1f%%", 100 * po) : "-",
                        r.rectify.get(Objective.SFT).firstNll,
                        ran
                                ? String.format(
                                        "%.5f",
                                        r.peer.path("sft").path("first_nll").asDouble())
                                : "-",
                        r.buildSeconds);
            }
        }
        if (!builds.isEmpty()) {
            System.out.println();
            System.out.println("| layers (hidden 128, LoRA r=8 on 7 projections) | base nodes | training-model nodes "
                    + "| ArtifactBuilder.build median (s) | first build (s) |");
            System.out.println("|---|---|---|---|---|");
            builds.forEach(
                    (n, b) -> System.out.printf("| %d | %.0f | %.0f | %.3f | %.3f |%n", n, b[0], b[1], b[2], b[3]));
        }
    }

    private static String key(Objective o) {
        return o == Objective.DFT ? "dft" : "sft";
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static TrainingPlan plan(Objective o) {
        return TrainingPlan.builder()
                .lora(LoraConfig.builder()
                        .rank(RANK)
                        .alpha(ALPHA)
                        .targetModules(LoraConfig.LLAMA_TARGETS)
                        .build())
                .objective(o)
                .build();
    }

    private static ModelResult benchModel(
            String name,
            Path dir,
            Path work,
            int threads,
            int rows,
            int seq,
            int warmup,
            int steps,
            boolean spinning,
            boolean runPeer,
            Path profile)
            throws IOException, InterruptedException {
        JsonNode cfg = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        int vocab = cfg.path("vocab_size").asInt();
        SplittableRandom rnd = new SplittableRandom(1234);
        long[] ids = new long[rows * seq];
        long[][] idRows = new long[rows][seq];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < seq; t++) {
                ids[r * seq + t] = idRows[r][t] = rnd.nextInt(3, vocab);
            }
        }
        long[] mask = new long[rows * seq];
        long[] pos = new long[rows * seq];
        long[] labels = new long[rows * seq];
        for (int r = 0; r < rows; r++) {
            for (int t = 0; t < seq; t++) {
                int i = r * seq + t;
                mask[i] = 1;
                pos[i] = t;
                labels[i] = t + 1 < seq ? ids[i + 1] : ObjectiveHead.IGNORE_INDEX;
            }
        }
        long targets = (long) rows * (seq - 1);
        long tokens = (long) rows * seq;
        long params = countParameters(dir.resolve("model.onnx"));
        System.out.printf("%n== %s (%s, %.2fM parameters, vocab %d) ==%n", name, dir, params / 1e6, vocab);

        Map<Objective, TrainingArtifacts> arts = new LinkedHashMap<>();
        double buildSeconds = 0;
        for (Objective o : List.of(Objective.SFT, Objective.DFT)) {
            long t0 = System.nanoTime();
            arts.put(
                    o,
                    ArtifactBuilder.defaults()
                            .build(
                                    dir.resolve("model.onnx"),
                                    plan(o),
                                    work.resolve("artifacts-" + name + "-" + key(o))));
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("rectify: artifacts (%s) built in %.2f s%n", o, s);
            if (o == Objective.DFT) {
                buildSeconds = s; // the second build: classes loaded, JIT warmer
            }
        }
        if (profile != null) {
            Files.createDirectories(profile);
        }
        SessionConfig sc = Device.cpu(threads).sessionConfig().toBuilder()
                .spinning(spinning)
                .profiling(profile == null ? null : profile.resolve(name))
                .build();
        Map<Objective, StepStats> stats = new LinkedHashMap<>();
        TrainingSession.setSeed(0);
        try (CheckpointState sftState =
                        CheckpointState.load(arts.get(Objective.SFT).checkpoint());
                CheckpointState dftState =
                        CheckpointState.load(arts.get(Objective.DFT).checkpoint());
                TrainingSession sft = open(sc, sftState, arts.get(Objective.SFT));
                TrainingSession dft = open(sc, dftState, arts.get(Objective.DFT))) {
            Map<Objective, TrainingSession> sessions =
                    new LinkedHashMap<>(Map.of(Objective.SFT, sft, Objective.DFT, dft));
            Map<Objective, List<Double>> times = new LinkedHashMap<>();
            Map<Objective, double[]> first = new LinkedHashMap<>();
            for (int i = 0; i < warmup + steps; i++) {
                for (Objective o : List.of(Objective.SFT, Objective.DFT)) {
                    TrainingSession s = sessions.get(o);
                    long t0 = System.nanoTime();
                    double[] lossNll = step(s, ids, mask, pos, labels, rows, seq, targets);
                    double dt = (System.nanoTime() - t0) / 1e9;
                    first.putIfAbsent(o, lossNll);
                    if (i >= warmup) {
                        times.computeIfAbsent(o, k -> new ArrayList<>()).add(dt);
                    }
                    System.out.printf(
                            "rectify: step %d %s: %.3f s, loss %.5f, nll %.5f%s%n",
                            i + 1, key(o), dt, lossNll[0], lossNll[1], i >= warmup ? "" : " (warmup)");
                }
            }
            for (Objective o : List.of(Objective.SFT, Objective.DFT)) {
                stats.put(
                        o,
                        new StepStats(
                                BenchSupport.median(times.get(o)), first.get(o)[0], first.get(o)[1], times.get(o)));
            }
        }
        System.out.printf(
                "rectify: SFT %.0f tokens/s, DFT %.0f tokens/s%n",
                stats.get(Objective.SFT).tokensPerSecond(tokens),
                stats.get(Objective.DFT).tokensPerSecond(tokens));

        if (!runPeer) {
            return new ModelResult(name, params, buildSeconds, stats, new ObjectMapper().createObjectNode(), tokens);
        }
        Path batchFile = work.resolve("batch-" + name + ".json");
        Files.writeString(batchFile, new ObjectMapper().writeValueAsString(Map.of("input_ids", idRows)));
        String t = String.valueOf(threads);
        List<String> cmd = List.of(
                "/usr/bin/env",
                "OMP_NUM_THREADS=" + t,
                "OPENBLAS_NUM_THREADS=" + t,
                "MKL_NUM_THREADS=" + t,
                "OMP_WAIT_POLICY=PASSIVE",
                BenchSupport.python(),
                PEER.toString(),
                "train",
                batchFile.toString(),
                "--model-dir",
                dir.toString(),
                "--threads",
                t,
                "--rank",
                String.valueOf(RANK),
                "--alpha",
                fmt(ALPHA),
                "--warmup",
                String.valueOf(warmup),
                "--steps",
                String.valueOf(steps),
                "--lr",
                String.valueOf(LR),
                "--max-grad-norm",
                "1.0",
                "--objectives",
                "sft,dft");
        System.out.println("peer: " + String.join(" ", cmd));
        JsonNode peer = BenchSupport.runPeer(cmd);
        if (peer.path("tokens_per_step").asLong() != tokens) {
            throw new IllegalStateException(
                    "the peer trained " + peer.path("tokens_per_step") + " tokens per step, not " + tokens);
        }
        return new ModelResult(name, params, buildSeconds, stats, peer, tokens);
    }

    private static TrainingSession open(SessionConfig sc, CheckpointState st, TrainingArtifacts a) {
        TrainingSession s = TrainingSession.create(sc, st, a.trainingModel(), a.evalModel(), a.optimizerModel());
        s.setLearningRate(LR);
        return s;
    }

    /** One optimizer step on the batch (as the Trainer does it, one micro-batch); returns {loss, mean nll}. */
    private static double[] step(
            TrainingSession s, long[] ids, long[] mask, long[] pos, long[] labels, int rows, int seq, long targets) {
        long[] shape = {rows, seq};
        List<Tensor> in = new ArrayList<>();
        try {
            for (String n : s.trainingInputNames()) {
                in.add(
                        switch (n) {
                            case "input_ids" -> Tensor.ofLongs(ids, shape);
                            case "attention_mask" -> Tensor.ofLongs(mask, shape);
                            case "position_ids" -> Tensor.ofLongs(pos, shape);
                            case ObjectiveHead.LABELS -> Tensor.ofLongs(labels, shape);
                            case ObjectiveHead.LOSS_DENOMINATOR -> Tensor.ofFloats(new float[] {targets}, 1);
                            default -> throw new IllegalStateException("unexpected training input " + n);
                        });
            }
            s.lazyResetGrad();
            List<Tensor> outs = s.trainStep(in, null);
            double loss;
            double nll;
            try {
                List<String> names = s.trainingOutputNames();
                loss = outs.get(names.indexOf(ObjectiveHead.LOSS)).toFloats()[0];
                nll = outs.get(names.indexOf(ObjectiveHead.NLL_SUM)).toFloats()[0] / targets;
            } finally {
                outs.forEach(Tensor::close);
            }
            s.optimizerStep(null);
            return new double[] {loss, nll};
        } finally {
            in.forEach(Tensor::close);
        }
    }

    /** {base nodes, training nodes, median seconds, first seconds} of ArtifactBuilder.build (LoRA, DFT). */
    private static double[] benchBuild(Path modelDir, Path out, int runs) {
        Path model = modelDir.resolve("model.onnx");
        List<Double> times = new ArrayList<>();
        double firstS = 0;
        TrainingArtifacts a = null;
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            a = ArtifactBuilder.defaults().build(model, plan(Objective.DFT), out);
            double s = (System.nanoTime() - t0) / 1e9;
            if (i == 0) {
                firstS = s;
            }
            times.add(s);
        }
        int baseNodes = OnnxModel.read(model).graph().nodes().size();
        int trainNodes = OnnxModel.read(a.trainingModel()).graph().nodes().size();
        double med = BenchSupport.median(times);
        System.out.printf(
                "build %s: %d base nodes -> %d training nodes, %d trainable tensors, median %.3f s over %d runs %s%n",
                modelDir.getFileName(),
                baseNodes,
                trainNodes,
                a.trainableParameters().size(),
                med,
                runs,
                times);
        return new double[] {baseNodes, trainNodes, med, firstS};
    }

    private static long countParameters(Path model) {
        long n = 0;
        for (var t : OnnxModel.read(model).graph().initializers().values()) {
            if (t.getDataType() == 1) {
                long e = 1;
                for (long d : t.getDimsList()) {
                    e *= d;
                }
                n += e;
            }
        }
        return n;
    }

    /** Exports a random-weight Llama with the peer script (reused when the folder already holds the same config). */
    private static Path export(
            Path dir, int layers, int hidden, int intermediate, int heads, int kvHeads, int headDim, int vocab)
            throws IOException, InterruptedException {
        BenchSupport.runPeer(List.of(
                BenchSupport.python(),
                PEER.toString(),
                "export",
                dir.toString(),
                "--layers",
                String.valueOf(layers),
                "--hidden",
                String.valueOf(hidden),
                "--intermediate",
                String.valueOf(intermediate),
                "--heads",
                String.valueOf(heads),
                "--kv-heads",
                String.valueOf(kvHeads),
                "--head-dim",
                String.valueOf(headDim),
                "--vocab",
                String.valueOf(vocab)));
        return dir;
    }

    private static String loadAverage() {
        try {
            String[] p = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return p[0] + " " + p[1] + " " + p[2] + " (1/5/15 min)";
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return System.getProperty("os.arch");
    }
}
