package dev.rectify.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.Objective;
import dev.rectify.data.EncodedExample;
import dev.rectify.generate.CausalLmSignature;
import dev.rectify.generate.ModelConfig;
import dev.rectify.lora.LoraConfig;
import dev.rectify.ort.Device;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.OrtRuntime;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.train.ArtifactBuilder;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.Trainer;
import dev.rectify.train.TrainingArtifacts;
import dev.rectify.train.TrainingPlan;
import dev.rectify.train.TrainingProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The GPU check, one run on a machine with CUDA: (1) the bundled model's logits on the CUDA provider equal the
 * CPU ones (1e-3); (2) greedy KV-cache decode tokens/s and first-token latency on CUDA; (3) training artifacts
 * train on CUDA (TrainStep, OptimizerStep, checkpoint) and the first steps' losses equal the CPU run's (1e-3);
 * (4) training tokens/s on CUDA for the bundled model and, when {@code --big DIR} holds a model.onnx, a large one.
 * Writes a JSON report. Needs no tokenizer: prompts come from models/rectify-tiny/recipe/reference.json.
 * <pre>java -cp ... dev.rectify.bench.GpuCheck --model models/rectify-tiny --out results.json [--big DIR]</pre>
 */
public final class GpuCheck {
    public static void main(String[] args) throws Exception {
        Path model = Path.of("models/rectify-tiny");
        Path out = Path.of("gpu-results.json");
        Path big = null;
        Path batchOut = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> model = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--big" -> big = Path.of(args[++i]);
                case "--batch-out" -> batchOut = Path.of(args[++i]);
                case "--big-only" -> {
                    big = Path.of(args[++i]);
                    model = null;
                }
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode report = json.createObjectNode();
        report.put("ort_version", OrtRuntime.get().version());
        report.put("providers", OrtRuntime.get().availableProviders().toString());
        System.out.println("ONNX Runtime " + OrtRuntime.get().version() + " providers "
                + OrtRuntime.get().availableProviders());
        if (batchOut != null) {
            // the training batch, for the PyTorch peer: {"input_ids": [[...], ...]}
            ObjectNode b = json.createObjectNode();
            var rows = b.putArray("input_ids");
            for (EncodedExample e : randomBatch(8, 128, 512, 7)) {
                var row = rows.addArray();
                for (long id : e.ids()) {
                    row.add(id);
                }
            }
            Files.writeString(batchOut, b.toString());
        }
        SessionConfig cpu = Device.cpu(4).sessionConfig();
        SessionConfig cuda = Device.cuda(0).sessionConfig();
        final Path m = model;
        if (m != null) {
            JsonNode ref = json.readTree(m.resolve("recipe/reference.json").toFile());
            step(report, "logits", () -> logitsParity(m, ref, cpu, cuda));
            step(report, "decode_cuda", () -> decode(m, ref, cuda));
            step(report, "decode_cpu", () -> decode(m, ref, cpu));
            step(report, "train_tiny", () -> trainParity(m, cpu, cuda, 8, 128));
        }
        if (big != null && Files.isRegularFile(big.resolve("model.onnx"))) {
            final Path b = big;
            step(report, "train_big", () -> trainSpeed(b, cuda, 8, 128));
        }
        Files.writeString(out, json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
        System.out.println(json.writerWithDefaultPrettyPrinter().writeValueAsString(report));
    }

    interface Check {
        JsonNode run() throws Exception;
    }

    private static void step(ObjectNode report, String name, Check c) {
        long t = System.nanoTime();
        try {
            JsonNode r = c.run();
            report.set(name, r);
            System.out.println(name + ": " + r + " (" + (System.nanoTime() - t) / 1_000_000 + " ms)");
        } catch (Throwable e) {
            report.put(name + "_error", e.toString());
            System.out.println(name + " FAILED: " + e);
            e.printStackTrace(System.out);
        }
    }

    private static long[] ids(JsonNode arr) {
        long[] out = new long[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asLong();
        }
        return out;
    }

    private static JsonNode logitsParity(Path model, JsonNode ref, SessionConfig cpu, SessionConfig cuda)
            throws Exception {
        double max = 0;
        try (InferenceSession a = InferenceSession.open(model.resolve("model.onnx"), cpu);
                InferenceSession b = InferenceSession.open(model.resolve("model.onnx"), cuda)) {
            for (JsonNode p : ref.path("prompts")) {
                long[] ids = ids(p.path("input_ids"));
                float[] la = logits(a, ids);
                float[] lb = logits(b, ids);
                for (int i = 0; i < la.length; i++) {
                    max = Math.max(max, Math.abs(la[i] - lb[i]));
                }
            }
        }
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("max_abs_diff_cpu_vs_cuda", max);
        r.put("within_1e-3", max <= 1e-3);
        return r;
    }

    private static float[] logits(InferenceSession s, long[] ids) {
        long[] mask = new long[ids.length];
        long[] pos = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            mask[i] = 1;
            pos[i] = i;
        }
        try (Tensor in = Tensor.ofLongs(ids, 1, ids.length);
                Tensor m = Tensor.ofLongs(mask, 1, ids.length);
                Tensor p = Tensor.ofLongs(pos, 1, ids.length);
                Outputs o = s.run(Map.of("input_ids", in, "attention_mask", m, "position_ids", p), List.of("logits"))) {
            return o.get("logits").toFloats();
        }
    }

    /** Greedy decode with the KV cache, batch 1, 64 new tokens per prompt, EOS ignored (as the PyTorch peer). */
    private static JsonNode decode(Path model, JsonNode ref, SessionConfig cfg) throws Exception {
        int maxNew = 64;
        try (InferenceSession s = InferenceSession.open(model.resolve("model_with_past.onnx"), cfg)) {
            CausalLmSignature sig = CausalLmSignature.of(s, ModelConfig.read(model));
            List<long[]> prompts = new ArrayList<>();
            for (JsonNode p : ref.path("prompts")) {
                prompts.add(ids(p.path("input_ids")));
            }
            for (int w = 0; w < 2; w++) {
                for (long[] p : prompts) {
                    greedy(s, sig, p, maxNew);
                }
            }
            List<Double> tps = new ArrayList<>();
            List<Double> first = new ArrayList<>();
            for (int r = 0; r < 5; r++) {
                long tokens = 0;
                long decodeNanos = 0;
                double f = 0;
                for (long[] p : prompts) {
                    long[] t = greedy(s, sig, p, maxNew);
                    tokens += maxNew - 1;
                    decodeNanos += t[1] - t[0];
                    f += t[0] / 1e6;
                }
                tps.add(tokens / (decodeNanos / 1e9));
                first.add(f / prompts.size());
            }
            ObjectNode r = new ObjectMapper().createObjectNode();
            r.put("decode_tokens_per_s", BenchSupport.median(tps));
            r.put("first_token_latency_ms", BenchSupport.median(first));
            return r;
        }
    }

    /** Returns {first-token nanos, total nanos}. */
    private static long[] greedy(InferenceSession s, CausalLmSignature sig, long[] prompt, int maxNew) {
        long start = System.nanoTime();
        long first = 0;
        Map<String, Tensor> past = new HashMap<>();
        for (int l = 0; l < sig.layers(); l++) {
            past.put(sig.pastKeyNames().get(l), Tensor.zeros(ElementType.FLOAT, 1, sig.kvHeads(), 0, sig.headDim()));
            past.put(sig.pastValueNames().get(l), Tensor.zeros(ElementType.FLOAT, 1, sig.kvHeads(), 0, sig.headDim()));
        }
        List<String> outs = new ArrayList<>(List.of("logits"));
        outs.addAll(sig.presentKeyNames());
        outs.addAll(sig.presentValueNames());
        long[] ids = prompt;
        int len = 0;
        for (int t = 0; t < maxNew; t++) {
            int step = ids.length;
            long[] mask = new long[len + step];
            Arrays.fill(mask, 1);
            long[] pos = new long[step];
            for (int i = 0; i < step; i++) {
                pos[i] = len + i;
            }
            Map<String, Tensor> feeds = new HashMap<>(past);
            try (Tensor in = Tensor.ofLongs(ids, 1, step);
                    Tensor m = Tensor.ofLongs(mask, 1, len + step);
                    Tensor p = Tensor.ofLongs(pos, 1, step)) {
                feeds.put("input_ids", in);
                feeds.put("attention_mask", m);
                feeds.put("position_ids", p);
                try (Outputs o = s.run(feeds, outs)) {
                    Tensor lg = o.get("logits");
                    int v = (int) lg.dim(2);
                    float[] row = new float[v];
                    lg.floatView().get((step - 1) * v, row);
                    int best = 0;
                    for (int k = 1; k < v; k++) {
                        if (row[k] > row[best]) {
                            best = k;
                        }
                    }
                    if (t == 0) {
                        first = System.nanoTime() - start;
                    }
                    for (int l = 0; l < sig.layers(); l++) {
                        past.put(
                                sig.pastKeyNames().get(l),
                                swap(
                                        past.get(sig.pastKeyNames().get(l)),
                                        o.take(sig.presentKeyNames().get(l))));
                        past.put(
                                sig.pastValueNames().get(l),
                                swap(
                                        past.get(sig.pastValueNames().get(l)),
                                        o.take(sig.presentValueNames().get(l))));
                    }
                    len += step;
                    ids = new long[] {best};
                }
            }
        }
        past.values().forEach(Tensor::close);
        return new long[] {first, System.nanoTime() - start};
    }

    private static Tensor swap(Tensor old, Tensor fresh) {
        old.close();
        return fresh;
    }

    private static List<EncodedExample> randomBatch(int rows, int len, int vocab, long seed) {
        Random r = new Random(seed);
        List<EncodedExample> out = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            long[] ids = new long[len];
            boolean[] target = new boolean[len];
            for (int t = 0; t < len; t++) {
                ids[t] = 3 + r.nextInt(vocab - 3);
                target[t] = t >= 8;
            }
            out.add(new EncodedExample(i, ids, target));
        }
        return out;
    }

    private static FineTuneOptions options(int steps, List<TrainingProgress> sink) {
        return FineTuneOptions.builder()
                .objective(Objective.DFT)
                .lora(8, 16)
                .batchSize(8)
                .microBatchSize(8)
                .maxSteps(steps)
                .learningRate(1e-4)
                .warmupRatio(0)
                .evalFraction(0)
                .seed(1)
                .onProgress(sink::add)
                .build();
    }

    private static TrainingArtifacts artifacts(Path model, Path dir) {
        // ORT's fused clipping: the repeatable one runs sequence ops on the CPU, which costs a copy per step on CUDA
        TrainingPlan plan = TrainingPlan.builder()
                .objective(Objective.DFT)
                .deterministicClipping(false)
                .lora(LoraConfig.builder().rank(8).alpha(16).seed(1).build())
                .build();
        return ArtifactBuilder.defaults().build(model, plan, dir);
    }

    private static JsonNode trainParity(Path model, SessionConfig cpu, SessionConfig cuda, int rows, int len)
            throws Exception {
        Path dir = Files.createTempDirectory("gpu-art");
        TrainingArtifacts art = artifacts(model.resolve("model.onnx"), dir);
        List<EncodedExample> batch = randomBatch(rows, len, 512, 7);
        List<TrainingProgress> a = new ArrayList<>();
        List<TrainingProgress> b = new ArrayList<>();
        new Trainer(art, options(5, a), cpu, 0, Files.createTempDirectory("run-cpu")).train(batch, List.of());
        new Trainer(art, options(25, b), cuda, 0, Files.createTempDirectory("run-cuda")).train(batch, List.of());
        ObjectNode r = new ObjectMapper().createObjectNode();
        double maxDiff = 0;
        var losses = r.putArray("losses_cpu_vs_cuda");
        for (int i = 0; i < 5; i++) {
            losses.addArray().add(a.get(i).loss()).add(b.get(i).loss());
            maxDiff = Math.max(maxDiff, Math.abs(a.get(i).loss() - b.get(i).loss()));
        }
        r.put("max_abs_loss_diff_first_5_steps", maxDiff);
        r.put("within_1e-3", maxDiff <= 1e-3);
        r.put("cuda_tokens_per_s", b.get(b.size() - 1).tokensPerSecond());
        r.put("cpu_tokens_per_s", a.get(a.size() - 1).tokensPerSecond());
        r.put("batch", rows + "x" + len);
        return r;
    }

    private static JsonNode trainSpeed(Path bigDir, SessionConfig cuda, int rows, int len) throws Exception {
        long t0 = System.nanoTime();
        TrainingArtifacts art = artifacts(bigDir.resolve("model.onnx"), Files.createTempDirectory("gpu-art-big"));
        double buildSec = (System.nanoTime() - t0) / 1e9;
        List<TrainingProgress> p = new ArrayList<>();
        // the same batch as the tiny model's (ids below 512), so the PyTorch peer trains on exactly it too
        new Trainer(art, options(12, p), cuda, 0, Files.createTempDirectory("run-big"))
                .train(randomBatch(rows, len, 512, 7), List.of());
        // steady state: tokens/s over the last steps (the first includes CUDA warm-up)
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("artifact_build_s", buildSec);
        r.put("cuda_tokens_per_s_cumulative", p.get(p.size() - 1).tokensPerSecond());
        long tokens = (long) rows * len;
        double s = (p.get(p.size() - 1).elapsed().toNanos() - p.get(4).elapsed().toNanos()) / 1e9;
        r.put("cuda_tokens_per_s_steady", tokens * (p.size() - 5) / s);
        r.put("first_loss", p.get(0).loss());
        r.put("last_loss", p.get(p.size() - 1).loss());
        r.put("batch", rows + "x" + len);
        return r;
    }
}
