package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.Objective;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraInjector;
import dev.rectify.lora.LoraSlot;
import dev.rectify.lora.LoraTarget;
import dev.rectify.lora.MultiLoraGraph;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.UnsupportedQuantizationException;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Device;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.LoraAdapter;
import dev.rectify.ort.OptimizationLevel;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.RunOptions;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.SessionOptimizerExport;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import dev.rectify.quant.Int4Quantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * QLoRA on a 4-bit base: the bundled model quantized by the test's own {@link Int4Quantizer} (MatMulNBits for every
 * projection and the tied head, GatherBlockQuantized for the embedding, block 32 so that the MLP's 352 inputs end
 * in a partial block) trains LoRA with the loss and LoRA gradients of LoRA over the dequantized float32 base
 * (within 1e-4); the quantized weights stay 4-bit in the artifacts; bad layouts are refused naming the node; the
 * 4-bit model generates.
 */
class QuantizedBaseTrainingTest {
    static final double TOL = 1e-4;
    static final Batches BATCH = new Batches(13, 2, 16, 512);
    static final SessionConfig CPU = SessionConfig.builder().intraOpThreads(2).build();

    @TempDir
    static Path tmp;

    static Int4Quantizer.Result asym;
    static Int4Quantizer.Result sym;

    @BeforeAll
    static void quantize() {
        OnnxModel tiny = OnnxModel.read(TestModels.tinyDir().resolve("model.onnx"));
        asym = new Int4Quantizer(32, false, true).quantize(tiny);
        sym = new Int4Quantizer(64, true, false).quantize(tiny);
        assertEquals(6 * 7 + 1, asym.matMuls(), "every projection and the tied head");
        assertEquals(1, asym.gathers());
    }

    /** LoRA on every projection, A seeded, B non-zero so that both get gradients. */
    static TrainingPlan plan(Objective objective, OnnxModel model) {
        LoraConfig.Builder lb = LoraConfig.builder().rank(4).alpha(8).seed(5);
        Random r = new Random(9);
        for (LoraTarget t :
                LoraInjector.of(LoraConfig.builder().rank(4).build()).findTargets(model.graph())) {
            float[] b = new float[(int) (t.outFeatures() * 4)];
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (r.nextGaussian() * 0.02);
            }
            lb.initialValue(t.loraB(), b);
        }
        return TrainingPlan.builder()
                .lora(lb.build())
                .objective(objective)
                .exposeGradients(true)
                .build();
    }

    static Map<String, float[]> firstStep(TrainingArtifacts a) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s =
                        TrainingSession.create(CPU, st, a.trainingModel(), a.evalModel(), a.optimizerModel())) {
            s.lazyResetGrad();
            List<Tensor> in = BATCH.feeds(s.trainingInputNames(), BATCH.validTokens);
            List<Tensor> out = s.trainStep(in, null);
            Map<String, float[]> m = new HashMap<>();
            for (int i = 0; i < out.size(); i++) {
                m.put(s.trainingOutputNames().get(i), out.get(i).toFloats());
            }
            Batches.close(in);
            Batches.close(out);
            return m;
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = Objective.Kind.class,
            names = {"SFT", "DFT"})
    void loraOnTheInt4BaseMatchesLoraOnTheDequantizedBase(Objective.Kind kind) {
        Objective objective = kind == Objective.Kind.SFT ? Objective.SFT : Objective.DFT;
        for (Int4Quantizer.Result q : List.of(asym, sym)) {
            TrainingPlan plan = plan(objective, q.dequantized());
            TrainingArtifacts a4 =
                    ArtifactBuilder.defaults().build(q.int4(), "int4", plan, tmp.resolve("q4-" + kind + q.gathers()));
            TrainingArtifacts af = ArtifactBuilder.defaults()
                    .build(q.dequantized(), "deq", plan, tmp.resolve("f32-" + kind + q.gathers()));
            assertEquals(af.trainableParameters(), a4.trainableParameters());
            assertEquals(2 * 7 * 6, a4.trainableParameters().size());
            Graph tg = OnnxModel.read(a4.trainingModel()).graph();
            long nbits = tg.nodes().stream()
                    .filter(n -> n.opType().equals("MatMulNBits"))
                    .count();
            assertEquals(q.matMuls(), nbits, "the forward keeps every 4-bit MatMulNBits");
            List<String> floats = tg.initializers().values().stream()
                    .filter(t -> t.getDataType() == DataType.FLOAT_VALUE
                            && t.getDimsCount() == 2
                            && !t.getName().endsWith("_scales")
                            && !(q.gathers() == 0 && t.getName().equals("model.embed_tokens.weight")))
                    .map(t -> t.getName() + Arrays.toString(Tensors.dims(t)))
                    .toList();
            assertTrue(floats.isEmpty(), "no float copy of a quantized weight in the training model: " + floats);

            Map<String, float[]> g4 = firstStep(a4);
            Map<String, float[]> gf = firstStep(af);
            double l4 = g4.get("loss")[0];
            double lf = gf.get("loss")[0];
            double worst = 0;
            for (String p : a4.trainableParameters()) {
                float[] x = g4.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
                float[] y = gf.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
                double d2 = 0;
                double y2 = 0;
                for (int i = 0; i < y.length; i++) {
                    d2 += (x[i] - (double) y[i]) * (x[i] - (double) y[i]);
                    y2 += (double) y[i] * y[i];
                }
                assertTrue(y2 > 0, p + ": the reference gradient is zero");
                double rel = Math.sqrt(d2 / y2);
                worst = Math.max(worst, rel);
                assertTrue(rel <= TOL, p + ": ||g4 - g32|| / ||g32|| = " + rel);
            }
            System.out.printf(
                    "int4 (%s) %s: loss %.7f vs dequantized float32 %.7f (rel %.2e); worst LoRA gradient rel %.2e%n",
                    q.gathers() > 0 ? "asymmetric, block 32, embeddings" : "symmetric, block 64",
                    kind,
                    l4,
                    lf,
                    Math.abs(l4 - lf) / lf,
                    worst);
            assertEquals(lf, l4, TOL * lf, "loss");
        }
    }

    /**
     * ONNX Runtime's session optimizer (ENABLE_ALL, as training sessions run) keeps the backward's dequantization a
     * runtime computation: no float32 weight appears among the optimized training graph's initializers.
     */
    @Test
    void theOptimizerDoesNotFoldTheDequantizedWeights() {
        TrainingArtifacts a = ArtifactBuilder.defaults()
                .build(asym.int4(), "int4", plan(Objective.SFT, asym.dequantized()), tmp.resolve("folding"));
        Path optimized = tmp.resolve("folding/optimized.onnx");
        SessionOptimizerExport.write(a.trainingModel(), optimized, OptimizationLevel.ALL);
        Graph g = OnnxModel.read(optimized).graph();
        long big = 128L * 128;
        List<String> folded = g.initializers().values().stream()
                .filter(t -> t.getDataType() == DataType.FLOAT_VALUE && Tensors.numElements(t) >= big)
                .map(t -> t.getName() + Arrays.toString(Tensors.dims(t)))
                .toList();
        System.out.println("optimized int4 training graph: " + g.nodes().size() + " nodes, "
                + g.nodes().stream()
                        .filter(n -> n.opType().equals("MatMulNBits"))
                        .count() + " MatMulNBits");
        assertTrue(folded.isEmpty(), "float32 weights folded by the optimizer: " + folded);
    }

    @Test
    void qloraTrains() {
        TrainingPlan plan = TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(8).alpha(16).build())
                .objective(Objective.SFT)
                .build();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(asym.int4(), "int4", plan, tmp.resolve("trains"));
        float[] l = RectifyTinyTest.run(BATCH, a, 1e-2f, 15, "loss", null);
        System.out.println("QLoRA on the int4 bundled model, SFT loss: " + l[0] + " -> " + l[14]);
        assertTrue(l[14] < 0.7 * l[0], "loss " + l[0] + " -> " + l[14]);
    }

    @Test
    void fullFineTuningOfAnInt4BaseIsRefused() {
        TrainingPlan full = TrainingPlan.builder().fullFineTuning().build();
        UntrainableModelException e = assertThrows(
                UntrainableModelException.class,
                () -> ArtifactBuilder.defaults().build(asym.int4(), "int4", full, tmp.resolve("full")));
        assertTrue(e.getMessage().contains("LoRA"), e.getMessage());
    }

    static OnnxModel edit(Consumer<Node> change) {
        Graph g = asym.int4().graph();
        Node n = g.nodes().stream()
                .filter(x -> x.opType().equals("MatMulNBits"))
                .skip(3)
                .findFirst()
                .orElseThrow();
        change.accept(n);
        return asym.int4().withGraph(g);
    }

    @Test
    void unsupportedLayoutsAreRefusedNamingTheNode() {
        TrainingPlan plan = TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(2).build())
                .build();
        Map<String, OnnxModel> bad = new LinkedHashMap<>();
        bad.put("bits=8", edit(n -> n.attr("bits", 8L)));
        bad.put("block_size=24", edit(n -> n.attr("block_size", 24L)));
        bad.put("g_idx", edit(n -> {
            while (n.inputs().size() < 4) {
                n.inputs().add("");
            }
            n.inputs().add("input_ids");
        }));
        bad.put("no scales", edit(n -> n.inputs().set(2, "")));
        bad.put("shape", edit(n -> n.attr("K", 96L)));
        for (Map.Entry<String, OnnxModel> c : bad.entrySet()) {
            UnsupportedQuantizationException e = assertThrows(
                    UnsupportedQuantizationException.class,
                    () -> ArtifactBuilder.defaults().build(c.getValue(), "bad", plan, tmp.resolve("bad")),
                    c.getKey());
            assertTrue(e.getMessage().contains("/model/layers.0/self_attn/o_proj/MatMul_Q4"), e.getMessage());
            assertTrue(e.getMessage().contains(c.getKey()), c.getKey() + ": " + e.getMessage());
        }
    }

    @Test
    void theInt4ModelRunsAndGenerates() throws Exception {
        Path dir4 = folder("gen4", asym.int4());
        Path dirF = folder("genF", asym.dequantized());
        float[] l4;
        float[] lf;
        Map<String, Tensor> feeds = Map.of(
                "input_ids",
                Tensor.ofLongs(BATCH.ids, BATCH.b, BATCH.s),
                "attention_mask",
                Tensor.ofLongs(BATCH.mask, BATCH.b, BATCH.s),
                "position_ids",
                Tensor.ofLongs(BATCH.pos, BATCH.b, BATCH.s));
        try (InferenceSession s4 = InferenceSession.open(dir4.resolve("model.onnx"), CPU);
                InferenceSession sf = InferenceSession.open(dirF.resolve("model.onnx"), CPU);
                Outputs o4 = s4.run(feeds, List.of("logits"));
                Outputs of = sf.run(feeds, List.of("logits"))) {
            l4 = o4.get("logits").toFloats();
            lf = of.get("logits").toFloats();
        } finally {
            feeds.values().forEach(Tensor::close);
        }
        double max = 0;
        double diff = 0;
        for (int i = 0; i < lf.length; i++) {
            max = Math.max(max, Math.abs(lf[i]));
            diff = Math.max(diff, Math.abs(lf[i] - l4[i]));
        }
        System.out.printf("int4 vs dequantized float32 logits: max |diff| %.2e (max |logit| %.2f)%n", diff, max);
        assertTrue(diff <= 1e-4 * max, "ORT's MatMulNBits computes the dequantized product");
        try (BaseModel m4 = BaseModel.open(dir4, Device.cpu(2));
                BaseModel mf = BaseModel.open(dirF, Device.cpu(2))) {
            long[] prompt = m4.tokenizer().encode("12+7=");
            Sampling greedy = Sampling.greedy().maxNewTokens(12);
            Generation g4 = m4.generator()
                    .generate(List.of(prompt), greedy, TokenListener.none(), null)
                    .get(0);
            Generation gf = mf.generator()
                    .generate(List.of(prompt), greedy, TokenListener.none(), null)
                    .get(0);
            System.out.println("int4 bundled model: '12+7=' -> '" + g4.text() + "'");
            assertTrue(g4.completionTokens() > 0);
            assertArrayEquals(gf.tokenIds(), g4.tokenIds(), "greedy tokens of the int4 model and its float32 twin");
        }
    }

    /** An adapter served as branches (MultiLoraGraph) on the 4-bit base gives the float32 twin's served logits. */
    @Test
    void anAdapterServesOnTheInt4Base() {
        MultiLoraGraph.Built q4 = MultiLoraGraph.build(asym.int4(), LoraConfig.LLAMA_TARGETS);
        MultiLoraGraph.Built f32 = MultiLoraGraph.build(asym.dequantized(), LoraConfig.LLAMA_TARGETS);
        assertEquals(f32.layout().slots().keySet(), q4.layout().slots().keySet());
        assertEquals(6 * 7, q4.layout().slots().size());
        Map<String, float[]> weights = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        Random r = new Random(17);
        for (LoraSlot slot : q4.layout().slots().values()) {
            float[] a = new float[(int) (4 * slot.inFeatures())];
            float[] b = new float[(int) (slot.outFeatures() * 4)];
            for (float[] v : List.of(a, b)) {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (r.nextGaussian() * 0.05);
                }
            }
            weights.put(slot.loraA(), a);
            shapes.put(slot.loraA(), new long[] {4, slot.inFeatures()});
            weights.put(slot.loraB(), b);
            shapes.put(slot.loraB(), new long[] {slot.outFeatures(), 4});
        }
        float[] l4 = served(q4, weights, shapes);
        float[] lf = served(f32, weights, shapes);
        float[] plain = served(q4, null, null);
        double max = 0;
        double diff = 0;
        double moved = 0;
        for (int i = 0; i < lf.length; i++) {
            max = Math.max(max, Math.abs(lf[i]));
            diff = Math.max(diff, Math.abs(lf[i] - l4[i]));
            moved = Math.max(moved, Math.abs(l4[i] - plain[i]));
        }
        System.out.printf(
                "adapter on the int4 base: max |logit diff| vs float32 twin %.2e, adapter moved logits by %.2f%n",
                diff, moved);
        assertTrue(moved > 0.1, "the adapter changes the output");
        assertTrue(diff <= 1e-4 * max, "served logits " + diff);
    }

    static float[] served(MultiLoraGraph.Built built, Map<String, float[]> weights, Map<String, long[]> shapes) {
        Map<String, Tensor> feeds = Map.of(
                "input_ids",
                Tensor.ofLongs(BATCH.ids, BATCH.b, BATCH.s),
                "attention_mask",
                Tensor.ofLongs(BATCH.mask, BATCH.b, BATCH.s),
                "position_ids",
                Tensor.ofLongs(BATCH.pos, BATCH.b, BATCH.s));
        try (InferenceSession s = InferenceSession.fromBytes(built.model().toBytes(), "served", CPU)) {
            if (weights == null) {
                try (Outputs o = s.run(feeds, List.of("logits"))) {
                    return o.get("logits").toFloats();
                }
            }
            try (LoraAdapter la = LoraAdapter.fromBytes(built.layout().toOnnxAdapter("a", 4, 8, weights, shapes), "a");
                    RunOptions ro = new RunOptions().activate(la);
                    Outputs o = s.run(feeds, List.of("logits"), ro)) {
                return o.get("logits").toFloats();
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }

    static Path folder(String name, OnnxModel model) throws Exception {
        Path d = Files.createDirectories(tmp.resolve(name));
        model.write(d.resolve("model.onnx"));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "config.json", "generation_config.json")) {
            Files.copy(TestModels.tinyDir().resolve(f), d.resolve(f));
        }
        return d;
    }
}
