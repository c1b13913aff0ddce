package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.CancellationToken;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.data.EncodedExample;
import dev.rectify.job.TrainingSetup;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Device;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mixed precision ({@link MixedPrecision}) on the bundled tiny model, on the CPU through the emulation (float32 kernels
 * with operands and results rounded to the half type), and the structure of the CUDA form (half kernels), which
 * cannot run here: ONNX Runtime's CPU provider has no bfloat16/float16 MatMul kernels.
 */
class MixedPrecisionTest {
    /**
     * Relative error allowed on the first loss and on each gradient tensor (L2) against float32. bfloat16 keeps 8
     * significant bits (unit roundoff 2^-9 = 2e-3), float16 11 (2^-12 = 2.4e-4), and the gradients' error grows
     * through the 6 layers' backward products. Measured: bfloat16 loss 7.6e-6 (LoRA) / 2.1e-5 (full), worst gradient
     * 3.7e-2 (LoRA, of 84 tensors) / 1.9e-2 (full, of 43); float16 (loss scale 1024) loss 6.8e-5, gradients 3.6e-3.
     * The loss moves little: its error is the logits' averaged over the tokens.
     */
    static final double BF16_LOSS_TOL = 1e-3;

    static final double BF16_GRAD_TOL = 5e-2;
    static final double FP16_LOSS_TOL = 1e-3;
    static final double FP16_GRAD_TOL = 1e-2;
    /**
     * Bounds on the logits' relative L2 error: rounding to the half type must show (above the lower bound; float32
     * reassociation alone gives about 1e-7) at its own precision (measured 5.9e-3 bfloat16, 7.5e-4 float16: 2^3 apart,
     * the 3 mantissa bits between them).
     */
    static final double[] BF16_LOGITS = {2e-3, 2e-2};

    static final double[] FP16_LOGITS = {2.5e-4, 2.5e-3};

    @TempDir
    static Path tmp;

    static final Path MODEL = ChunkedLossHeadTest.modelFile("tiny");

    static TrainingPlan plan(boolean lora, ComputePrecision p, boolean emulate) {
        return ChunkedLossHeadTest.plan("tiny", Objective.SFT, lora, 1).toBuilder()
                .computePrecision(p)
                .emulateHalfKernels(emulate)
                .build();
    }

    static TrainingArtifacts build(TrainingPlan plan, String dir) {
        return ArtifactBuilder.defaults().build(MODEL, plan, tmp.resolve(dir));
    }

    static Map<String, float[]> step(TrainingArtifacts a, float lossScale) {
        Batches batch = ChunkedLossHeadTest.batch("tiny");
        batch.lossScale = lossScale;
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 1e-3f)) {
            s.lazyResetGrad();
            return ArtifactBuilderOrtTest.trainStep(s, batch);
        }
    }

    /** ||x - y|| / ||y||. */
    static double rel(float[] x, float[] y) {
        double d2 = 0;
        double y2 = 0;
        for (int i = 0; i < y.length; i++) {
            d2 += (x[i] - (double) y[i]) * (x[i] - (double) y[i]);
            y2 += (double) y[i] * y[i];
        }
        assertTrue(y2 > 0, "zero reference");
        return Math.sqrt(d2 / y2);
    }

    static float[] logits(TrainingArtifacts a) {
        Batches batch = ChunkedLossHeadTest.batch("tiny");
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 1e-3f)) {
            List<Tensor> in = batch.feeds(s.evalInputNames(), batch.validTokens);
            List<Tensor> out = s.evalStep(in, null);
            float[] l =
                    out.get(s.evalOutputNames().indexOf(ArtifactBuilder.LOGITS)).toFloats();
            Batches.close(in);
            Batches.close(out);
            return l;
        }
    }

    void compare(boolean lora, ComputePrecision p, float lossScale, double lossTol, double gradTol) {
        String tag = (lora ? "lora-" : "full-") + p.label();
        TrainingArtifacts a32 = build(plan(lora, ComputePrecision.FLOAT32, false), tag + "-f32");
        TrainingArtifacts ah = build(plan(lora, p, true), tag + "-emulated");
        Map<String, float[]> ref = step(a32, 1);
        Map<String, float[]> got = step(ah, lossScale);
        double lossRel = Math.abs(got.get("loss")[0] - ref.get("loss")[0]) / Math.abs(ref.get("loss")[0]);
        double worst = 0;
        boolean identical = got.get("loss")[0] == ref.get("loss")[0];
        for (String n : a32.trainableParameters()) {
            float[] g = got.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + n);
            float[] r = ref.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + n);
            double e = rel(g, r);
            worst = Math.max(worst, e);
            identical &= Arrays.equals(g, r);
            assertTrue(e <= gradTol, n + ": ||g_" + p.label() + " - g_f32|| / ||g_f32|| = " + e);
        }
        System.out.printf(
                "%s emulated vs float32: loss %.7f vs %.7f (rel %.2e), worst gradient rel %.2e over %d tensors%n",
                tag,
                got.get("loss")[0],
                ref.get("loss")[0],
                lossRel,
                worst,
                a32.trainableParameters().size());
        assertTrue(lossRel <= lossTol, "loss rel " + lossRel);
        double[] bounds = p == ComputePrecision.BFLOAT16 ? BF16_LOGITS : FP16_LOGITS;
        double logitsRel = rel(logits(ah), logits(a32));
        System.out.printf("%s emulated vs float32: eval logits rel %.2e%n", tag, logitsRel);
        assertTrue(
                logitsRel >= bounds[0] && logitsRel <= bounds[1],
                "eval logits rel " + logitsRel + " outside " + Arrays.toString(bounds));
        assertFalse(identical, "the emulation rounds: the loss and gradients cannot all equal float32's bits");
    }

    @Test
    void bfloat16EmulationAgreesWithFloat32WithinBfloat16Rounding() {
        compare(true, ComputePrecision.BFLOAT16, 1, BF16_LOSS_TOL, BF16_GRAD_TOL);
        compare(false, ComputePrecision.BFLOAT16, 1, BF16_LOSS_TOL, BF16_GRAD_TOL);
    }

    @Test
    void float16EmulationAgreesWithFloat32WithinFloat16Rounding() {
        compare(true, ComputePrecision.FLOAT16, 1024, FP16_LOSS_TOL, FP16_GRAD_TOL);
    }

    // ---- the CUDA form ----

    /** Element types of every tensor, propagated in topological order (enough for the ops of these graphs). */
    static Map<String, Integer> types(Graph g) {
        Map<String, Integer> t = new HashMap<>();
        g.initializers().values().forEach(i -> t.put(i.getName(), i.getDataType()));
        g.inputs().forEach(v -> t.put(v.getName(), v.getType().getTensorType().getElemType()));
        Set<String> bool = Set.of(
                "Equal",
                "Less",
                "Greater",
                "LessOrEqual",
                "GreaterOrEqual",
                "Not",
                "And",
                "Or",
                "Xor",
                "IsNaN",
                "IsInf");
        Set<String> int64 = Set.of("Shape", "Size", "ArgMax", "ArgMin", "NonZero");
        for (Node n : g.topologicalOrder()) {
            int out;
            String op = n.opType();
            if (op.equals("Cast")) {
                out = (int) n.attribute("to").orElseThrow().getI();
            } else if (bool.contains(op)) {
                out = DataType.BOOL_VALUE;
            } else if (int64.contains(op)) {
                out = DataType.INT64_VALUE;
            } else if (op.equals("Constant") || op.equals("ConstantOfShape")) {
                var v = n.attribute("value");
                out = v.isPresent() && v.get().hasT()
                        ? v.get().getT().getDataType()
                        : n.attribute("value_float").isPresent() || op.equals("ConstantOfShape")
                                ? DataType.FLOAT_VALUE
                                : DataType.INT64_VALUE;
            } else if (op.equals("Where") || op.equals("CastLike")) {
                out = t.getOrDefault(n.input(op.equals("Where") ? 1 : 1), 0);
            } else {
                out = 0;
                for (String x : n.inputs()) {
                    int k = t.getOrDefault(x, 0);
                    if (k == DataType.FLOAT_VALUE || k == DataType.FLOAT16_VALUE || k == DataType.BFLOAT16_VALUE) {
                        out = k;
                        break;
                    }
                    out = out == 0 ? k : out;
                }
            }
            for (String o : n.outputs()) {
                t.put(o, out);
            }
        }
        return t;
    }

    static List<Node> products(Graph g) {
        return g.nodes().stream().filter(MixedPrecision::isProduct).toList();
    }

    @Test
    void cudaFormRunsEveryProductButTheHeadOnHalfOperands() throws Exception {
        for (boolean lora : List.of(true, false)) {
            TrainingArtifacts a = build(plan(lora, ComputePrecision.BFLOAT16, false), "cuda-" + lora);
            assertEquals("bfloat16", a.property(ArtifactBuilder.PROP_PRECISION));
            Graph eval = OnnxModel.read(a.evalModel()).graph();
            Graph train = OnnxModel.read(a.trainingModel()).graph();
            Node head = eval.producer(ArtifactBuilder.LOGITS).orElseThrow();
            assertTrue(MixedPrecision.isProduct(head), "the head projection makes the logits: " + head.describe());
            Set<String> headSide = Set.of(head.input(0), head.input(1));
            Map<String, Integer> et = types(eval);
            for (Node n : products(eval)) {
                for (String x : n.inputs()) {
                    int want = n == head ? DataType.FLOAT_VALUE : DataType.BFLOAT16_VALUE;
                    assertEquals(want, et.get(x), "eval " + n.describe() + " operand " + x);
                }
            }
            Map<String, Integer> tt = types(train);
            int halfProducts = 0;
            int floatProducts = 0;
            // the head's own products: its forward and the autodiff's products for its backward (named after it)
            for (Node n : products(train)) {
                boolean onHead = n.name().equals(head.name())
                        || n.name().startsWith(head.name() + "_Grad/")
                        || n.inputs().stream().anyMatch(headSide::contains);
                for (String x : n.inputs()) {
                    int want = onHead ? DataType.FLOAT_VALUE : DataType.BFLOAT16_VALUE;
                    assertEquals(want, tt.get(x), "training " + n.describe() + " operand " + x);
                }
                halfProducts += onHead ? 0 : 1;
                floatProducts += onHead ? 1 : 0;
            }
            // the head's forward and its backward towards the hidden state (and to its weight in full fine-tuning)
            assertTrue(floatProducts >= 2 && floatProducts <= 3, "float32 products: " + floatProducts);
            for (String p : a.trainableParameters()) {
                assertEquals(
                        DataType.FLOAT_VALUE,
                        train.input(p).orElseThrow().getType().getTensorType().getElemType());
                Node acc = train.nodes().stream()
                        .filter(n -> n.opType().equals("InPlaceAccumulatorV2")
                                && n.input(0).equals(p + TrainingArtifacts.BUFFER_SUFFIX))
                        .findFirst()
                        .orElseThrow();
                assertEquals(DataType.FLOAT_VALUE, tt.get(acc.input(1)), p + "'s gradient is float32");
            }
            assertEquals(DataType.FLOAT_VALUE, tt.get(ObjectiveHead.LOSS));
            long halfWeights = train.initializers().values().stream()
                    .filter(t -> t.getDataType() == DataType.BFLOAT16_VALUE && t.getDimsCount() == 2)
                    .count();
            if (lora) {
                assertTrue(
                        train.initializers().values().stream()
                                .filter(t -> t.getName().contains("q_proj") && t.getDimsCount() == 2)
                                .allMatch(t -> t.getDataType() == DataType.BFLOAT16_VALUE),
                        "frozen projections are stored in bfloat16");
            }
            // the ops whose CUDA kernels must take bfloat16 (for whoever runs this form on a GPU)
            Set<String> halfOps = new java.util.TreeSet<>();
            for (Node n : train.nodes()) {
                if (n.inputs().stream().anyMatch(x -> tt.getOrDefault(x, 0) == DataType.BFLOAT16_VALUE)) {
                    halfOps.add((n.isDefaultDomain() ? "" : n.domain() + ".") + n.opType());
                }
            }
            System.out.println("CUDA form, " + (lora ? "LoRA" : "full") + ": ops reading bfloat16: " + halfOps);
            long halfData = Files.size(a.folder().resolve(ArtifactBuilder.FROZEN_WEIGHTS));
            long floatData = Files.size(build(plan(lora, ComputePrecision.FLOAT32, false), "f32-" + lora)
                    .folder()
                    .resolve(ArtifactBuilder.FROZEN_WEIGHTS));
            System.out.printf(
                    "CUDA form, %s: %d half products, %d float32 (head), %d frozen weights stored as bfloat16; "
                            + "frozen weights file %d bytes (float32 artifacts: %d)%n",
                    lora ? "LoRA" : "full", halfProducts, floatProducts, halfWeights, halfData, floatData);
            if (lora) {
                assertTrue(halfData < 0.75 * floatData, halfData + " vs " + floatData);
            }
        }
    }

    /**
     * ONNX Runtime itself checks the CUDA form: its graph resolution type-checks every node before kernels are chosen.
     * The float16 form even runs on the CPU, where ORT wraps float16 nodes without CPU kernels in casts to float32,
     * and its gradients match the emulation's (measured 4.0e-3, float16 rounding at other places); the bfloat16 form
     * resolves and then stops at the first product, for want of a CPU kernel, and nothing earlier.
     */
    @Test
    void onnxRuntimeAcceptsTheCudaForm() {
        TrainingArtifacts cuda = build(plan(true, ComputePrecision.FLOAT16, false), "ort-fp16");
        TrainingArtifacts emu = build(plan(true, ComputePrecision.FLOAT16, true), "ort-fp16-emulated");
        Map<String, float[]> a = step(cuda, 1024);
        Map<String, float[]> b = step(emu, 1024);
        double worst = 0;
        for (String n : cuda.trainableParameters()) {
            worst = Math.max(
                    worst,
                    rel(a.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + n), b.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + n)));
        }
        System.out.printf(
                "float16 CUDA form on ORT's CPU fallback vs emulation: loss %.6f vs %.6f, worst gradient rel %.2e%n",
                a.get("loss")[0], b.get("loss")[0], worst);
        assertTrue(worst <= FP16_GRAD_TOL, "worst " + worst);
        TrainingArtifacts bf16 = build(plan(true, ComputePrecision.BFLOAT16, false), "ort-bf16");
        RuntimeException e = assertThrows(RuntimeException.class, () -> step(bf16, 1));
        assertTrue(
                e.getMessage().contains("Could not find an implementation for")
                        && e.getMessage().contains("MatMul"),
                e.getMessage());
    }

    // ---- float16 loss scaling through the Trainer ----

    static List<EncodedExample> examples(int n) {
        Random r = new Random(11);
        List<EncodedExample> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long[] ids = new long[12];
            boolean[] target = new boolean[12];
            for (int k = 0; k < ids.length; k++) {
                ids[k] = 1 + r.nextInt(500);
                target[k] = k >= 3;
            }
            out.add(new EncodedExample(i, ids, target));
        }
        return out;
    }

    static TrainingResult train(TrainingArtifacts a, FineTuneOptions o, Path runDir) {
        return new Trainer(a, o, ChunkedLossHeadTest.CPU, 0, runDir).train(examples(4), List.of());
    }

    static FineTuneOptions.Builder options(int steps) {
        return FineTuneOptions.builder()
                .maxSteps(steps)
                .batchSize(2)
                .microBatchSize(2)
                .learningRate(1e-2)
                .computePrecision(ComputePrecision.FLOAT16);
    }

    static JsonNode state(Path runDir) throws Exception {
        String name = Files.readString(runDir.resolve(RunCheckpoints.LATEST)).trim();
        return new ObjectMapper()
                .readTree(runDir.resolve(name).resolve(RunCheckpoints.STATE).toFile());
    }

    static Map<String, float[]> initial(TrainingArtifacts a) {
        Map<String, float[]> m = new HashMap<>();
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 1e-3f)) {
            for (String p : a.trainableParameters()) {
                try (Tensor t = st.parameter(p)) {
                    m.put(p, t.toFloats());
                }
            }
        }
        return m;
    }

    @Test
    void float16OverflowSkipsTheStepHalvesTheScaleAndTrainingGoesOn() throws Exception {
        TrainingArtifacts a = build(plan(true, ComputePrecision.FLOAT16, true), "scaled");
        assertTrue(
                a.trainingInputs().contains(ArtifactBuilder.LOSS_SCALE),
                a.trainingInputs().toString());
        assertFalse(a.evalInputs().contains(ArtifactBuilder.LOSS_SCALE));
        double huge = Math.pow(2, 40);

        // one step at 2^40: float16 overflows, the step is skipped, the parameters stay, the scale halves
        Path one = tmp.resolve("run-one");
        TrainingResult r1 = train(a, options(1).initialLossScale(huge).build(), one);
        assertEquals(0, r1.skippedSteps(), "an overflow is not a non-finite-loss skip");
        Map<String, float[]> init = initial(a);
        for (String p : a.trainableParameters()) {
            assertTrue(Arrays.equals(init.get(p), r1.weights().values().get(p)), p + " unchanged");
        }
        JsonNode s1 = state(one);
        assertEquals(huge / 2, s1.path("lossScale").asDouble());
        assertEquals(1, s1.path("overflows").asInt());

        // 40 steps: halved until the gradients fit, then every step updates (no growth within the interval)
        Path many = tmp.resolve("run-many");
        List<Double> losses = new ArrayList<>();
        TrainingResult r2 = train(
                a,
                options(40)
                        .initialLossScale(huge)
                        .lossScaleGrowthInterval(1000)
                        .onProgress(p -> {
                            if (p.phase() == TrainingProgress.Phase.TRAIN) {
                                losses.add(p.loss());
                            }
                        })
                        .build(),
                many);
        JsonNode s2 = state(many);
        int overflows = s2.path("overflows").asInt();
        System.out.printf(
                "float16 from scale 2^40: %d overflow skips, final scale 2^%.0f, loss %.4f -> %.4f%n",
                overflows, Math.log(s2.path("lossScale").asDouble()) / Math.log(2), losses.get(0), losses.get(39));
        assertTrue(overflows >= 2 && overflows < 30, "overflows " + overflows);
        assertEquals(huge / Math.pow(2, overflows), s2.path("lossScale").asDouble());
        assertEquals(40 - overflows, s2.path("lossScaleGoodSteps").asInt());
        assertEquals(0, r2.skippedSteps());
        assertTrue(losses.get(39) < 0.9 * losses.get(overflows), "loss " + losses);

        // resume: the scale continues from the checkpoint (2^39 overflows again -> 2^38), it is not reset to 2^40
        Path resumed = tmp.resolve("run-resumed");
        CancellationToken stop = new CancellationToken();
        FineTuneOptions.Builder ro = options(2).initialLossScale(huge).checkpointEvery(1);
        assertThrows(
                TrainingCancelledException.class,
                () -> train(
                        a, ro.cancellation(stop).onProgress(p -> stop.cancel()).build(), resumed));
        assertEquals(huge / 2, state(resumed).path("lossScale").asDouble());
        train(
                a,
                ro.cancellation(new CancellationToken())
                        .onProgress(p -> {})
                        .resume(true)
                        .build(),
                resumed);
        JsonNode sr = state(resumed);
        assertEquals(2, sr.path("step").asInt());
        assertEquals(huge / 4, sr.path("lossScale").asDouble());
        assertEquals(2, sr.path("overflows").asInt());

        // growth: from 1024 (no overflow), doubled every 3 good steps
        Path grow = tmp.resolve("run-grow");
        train(a, options(7).initialLossScale(1024).lossScaleGrowthInterval(3).build(), grow);
        JsonNode s3 = state(grow);
        assertEquals(0, s3.path("overflows").asInt());
        assertEquals(4096, s3.path("lossScale").asDouble());
        assertEquals(1, s3.path("lossScaleGoodSteps").asInt());
    }

    @Test
    void bfloat16EmulationTrainsLikeFloat32() {
        for (ComputePrecision p : List.of(ComputePrecision.FLOAT32, ComputePrecision.BFLOAT16)) {
            TrainingArtifacts a = build(plan(true, p, p.isHalf()), "trains-" + p.label());
            Batches batch = ChunkedLossHeadTest.batch("tiny");
            float[] l = new float[20];
            try (CheckpointState st = CheckpointState.load(a.checkpoint());
                    TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 1e-2f)) {
                for (int i = 0; i < l.length; i++) {
                    s.lazyResetGrad();
                    l[i] = ArtifactBuilderOrtTest.trainStep(s, batch).get("loss")[0];
                    s.optimizerStep(null);
                }
            }
            System.out.printf("%s LoRA SFT, 20 steps: loss %.4f -> %.4f%n", p.label(), l[0], l[19]);
            assertTrue(l[19] < 0.7 * l[0], p + ": loss " + l[0] + " -> " + l[19]);
        }
    }

    /** The largest relative difference between the gradients of {@code got} and {@code ref}, over a's parameters. */
    private static double worstGradient(Map<String, float[]> got, Map<String, float[]> ref, TrainingArtifacts a) {
        double worst = 0;
        for (String n : a.trainableParameters()) {
            worst = Math.max(
                    worst,
                    rel(
                            got.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + n),
                            ref.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + n)));
        }
        return worst;
    }

    @Test
    void gradientCheckpointingKeepsTheBfloat16Gradients() {
        TrainingPlan p = plan(true, ComputePrecision.BFLOAT16, true);
        Map<String, float[]> ref = step(build(p, "ckpt-off"), 1);
        TrainingArtifacts a = build(p.toBuilder().gradientCheckpointing(true).build(), "ckpt-on");
        assertTrue(OnnxModel.read(a.trainingModel()).graph().nodes().stream()
                .anyMatch(n -> n.name().startsWith("/recompute/")));
        double worst = worstGradient(step(a, 1), ref, a);
        System.out.printf("bfloat16 emulated, gradient checkpointing on vs off: worst gradient rel %.2e%n", worst);
        // the recomputed forward is the same ops; a float32 last-bit difference can flip one bfloat16 rounding
        assertTrue(worst <= 1e-2, "worst " + worst);
    }

    @Test
    void theChunkedLossHeadKeepsTheBfloat16Gradients() {
        TrainingPlan p = plan(true, ComputePrecision.BFLOAT16, true);
        Map<String, float[]> ref = step(build(p, "chunks-1"), 1);
        TrainingArtifacts a = build(p.toBuilder().lossChunks(4).build(), "chunks-4");
        assertFalse(OnnxModel.read(a.trainingModel()).graph().tensorNames().contains(ArtifactBuilder.LOGITS));
        double worst = worstGradient(step(a, 1), ref, a);
        System.out.printf("bfloat16 emulated, loss head in 4 blocks vs whole: worst gradient rel %.2e%n", worst);
        // the head stays float32 (chunked: 1e-7 level); a last-bit difference can flip one bfloat16 rounding after it
        assertTrue(worst <= 1e-2, "worst " + worst);
    }

    @Test
    void halfKernelsAreRefusedOnTheCpu() {
        FineTuneOptions o =
                options(1).computePrecision(ComputePrecision.BFLOAT16).build();
        InvalidArgumentException e =
                assertThrows(InvalidArgumentException.class, () -> TrainingSetup.plan(o, Device.cpu()));
        assertTrue(e.getMessage().contains("needs a CUDA device"), e.getMessage());
        assertEquals(
                ComputePrecision.BFLOAT16,
                TrainingSetup.plan(o, Device.cuda(0)).computePrecision(),
                "the plan carries the precision for CUDA");
        TrainingArtifacts a = build(plan(true, ComputePrecision.BFLOAT16, false), "refused");
        InvalidArgumentException t =
                assertThrows(InvalidArgumentException.class, () -> train(a, o, tmp.resolve("run-refused")));
        assertTrue(t.getMessage().contains("needs CUDA"), t.getMessage());
    }

    @Test
    void defaultPlanHashIsUnchangedAndHalfPlansDiffer() {
        TrainingPlan f32 = plan(true, ComputePrecision.FLOAT32, false);
        assertFalse(f32.canonical().contains("precision"), f32.canonical());
        assertTrue(plan(true, ComputePrecision.BFLOAT16, false).canonical().endsWith(",precision=bfloat16)"));
        assertTrue(plan(true, ComputePrecision.FLOAT16, true).canonical().endsWith(",precision=float16~emulated)"));
    }
}
