package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No weight decay on biases and norm weights (Hugging Face Trainer's default), each parameter its own decay: a
 * GPT-2-like head ({@code transformer.ln_f.weight}, a LayerNorm scale whose name does not say so, {@code lm_head.bias},
 * {@code lm_head.weight}) fully fine-tuned one AdamW step with decay and one without, from the same weights and
 * gradients: the matrix differs by exactly the decoupled decay {@code lr·wd·p}, the bias and the norm weight not at all.
 */
class WeightDecayTest {
    static final int V = TinyLlama.VOCAB;
    static final int H = 8;

    @Test
    void huggingFacesRuleByNameAndShape() {
        assertTrue(WeightDecay.decays("model.layers.0.self_attn.q_proj.weight", new long[] {16, 16}));
        assertTrue(WeightDecay.decays(
                "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", new long[] {4, 16}));
        assertTrue(WeightDecay.decays("model.embed_tokens.weight", new long[] {32, 16}));
        assertTrue(WeightDecay.decays("onnx::MatMul_123", new long[] {16, 16}));
        assertFalse(WeightDecay.decays("model.layers.0.input_layernorm.weight", new long[] {16}));
        assertFalse(WeightDecay.decays("model.norm.weight", new long[] {16}));
        assertFalse(WeightDecay.decays("transformer.h.0.ln_1.weight", new long[] {16}), "nn.LayerNorm by type in HF");
        assertFalse(WeightDecay.decays("transformer.h.0.attn.c_attn.bias", new long[] {48}));
        assertFalse(WeightDecay.decays("model.layers.0.q_norm.weight", new long[] {8}));
        assertFalse(WeightDecay.decays("encoder.rmsnorm_final.weight", new long[] {2, 8}), "named a norm");
    }

    /** input_ids → embedding (frozen) → × ln_f.weight → MatMul lm_head.weight + lm_head.bias → logits. */
    static OnnxModel head() {
        Random r = new Random(11);
        GraphBuilder g = GraphBuilder.create("head")
                .input("input_ids", DataType.INT64, "batch", "sequence")
                .input("attention_mask", DataType.INT64, "batch", "sequence")
                .output("logits", DataType.FLOAT, "batch", "sequence", V);
        g.initializer(Tensors.ofFloats("transformer.wte.weight", randn(r, V * H), V, H));
        g.initializer(Tensors.ofFloats("transformer.ln_f.weight", randn(r, H), H));
        g.initializer(Tensors.ofFloats("lm_head.weight", randn(r, H * V), H, V));
        g.initializer(Tensors.ofFloats("lm_head.bias", randn(r, V), V));
        g.node(Node.of("Gather", List.of("transformer.wte.weight", "input_ids"), List.of("h"))
                .name("/wte/Gather"));
        g.node(Node.of("Mul", List.of("h", "transformer.ln_f.weight"), List.of("hn"))
                .name("/ln_f/Mul"));
        g.node(Node.of("MatMul", List.of("hn", "lm_head.weight"), List.of("proj"))
                .name("/lm_head/MatMul"));
        g.node(Node.of("Add", List.of("proj", "lm_head.bias"), List.of("logits"))
                .name("/lm_head/Add"));
        return ModelBuilder.create().opset("", 17).graph(g).build();
    }

    private static float[] randn(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (r.nextGaussian() * 0.5);
        }
        return v;
    }

    private static Map<String, float[]> oneStep(TrainingArtifacts a, float lr, double wd) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, lr)) {
            WeightDecay decay = WeightDecay.Where.TRAINER.name().equals(a.property(ArtifactBuilder.PROP_DECAY))
                    ? WeightDecay.of(st, a.trainableParameters())
                    : null;
            s.lazyResetGrad();
            ArtifactBuilderOrtTest.trainStep(s, new Batches(7, 2, 8, V));
            if (decay != null) {
                decay.applyBeforeStep(st, lr, wd); // what Trainer does before each optimizer step
            }
            s.optimizerStep(null);
            Map<String, float[]> out = new LinkedHashMap<>();
            for (String n : a.trainableParameters()) {
                try (Tensor t = st.parameter(n)) {
                    out.put(n, t.toFloats());
                }
            }
            return out;
        }
    }

    @Test
    void biasAndNormWeightAreNotDecayedTheMatrixIs(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base/model.onnx");
        Files.createDirectories(base.getParent());
        head().write(base);
        String pattern = "transformer\\.ln_f\\.weight|lm_head\\..*";
        double wd = 0.1;
        float lr = 0.05f;
        TrainingPlan decayed = TrainingPlan.builder()
                .fullFineTuning(pattern)
                .objective(Objective.SFT)
                .weightDecay(wd)
                .build();
        TrainingPlan none = decayed.toBuilder().weightDecay(0).build();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, decayed, dir.resolve("decay"));
        TrainingArtifacts b = ArtifactBuilder.defaults().build(base, none, dir.resolve("none"));
        assertEquals("TRAINER", a.property(ArtifactBuilder.PROP_DECAY), "a mix of decayed and undecayed parameters");
        assertEquals("NONE", b.property(ArtifactBuilder.PROP_DECAY));
        assertEquals(0f, adamWDecay(a), "the optimizer model leaves the decay to the trainer");
        Map<String, float[]> before = new LinkedHashMap<>();
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, lr)) { // ORT reads parameters through a session
            for (String n : a.trainableParameters()) {
                try (Tensor t = st.parameter(n)) {
                    before.put(n, t.toFloats());
                }
            }
        }
        Map<String, float[]> withDecay = oneStep(a, lr, wd);
        Map<String, float[]> without = oneStep(b, lr, 0);
        assertEquals(
                List.of("lm_head.bias", "lm_head.weight", "transformer.ln_f.weight"),
                withDecay.keySet().stream().sorted().toList());
        assertArrayEquals(without.get("lm_head.bias"), withDecay.get("lm_head.bias"), 0f, "bias: not decayed");
        assertArrayEquals(
                without.get("transformer.ln_f.weight"),
                withDecay.get("transformer.ln_f.weight"),
                0f,
                "LayerNorm weight: not decayed");
        float[] p0 = before.get("lm_head.weight");
        float[] dec = withDecay.get("lm_head.weight");
        float[] plain = without.get("lm_head.weight");
        double maxDiff = 0;
        for (int i = 0; i < p0.length; i++) {
            // torch.optim.AdamW: p ← p·(1 − lr·wd) − lr·update, the update being the same in both runs
            assertEquals(plain[i] - lr * wd * p0[i], dec[i], 2e-6, "lm_head.weight[" + i + "]");
            maxDiff = Math.max(maxDiff, Math.abs(plain[i] - dec[i]));
        }
        assertTrue(maxDiff > 1e-4, "the matrix was decayed: " + maxDiff);
        assertNotEquals(before.get("lm_head.bias")[0], withDecay.get("lm_head.bias")[0], "the bias did train");
    }

    @Test
    void loraMatricesAllDecayInTheOptimizerModel(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base/model.onnx");
        Files.createDirectories(base.getParent());
        TinyLlama.build(1, false).write(base);
        TrainingPlan plan = TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(2).alpha(4).build())
                .weightDecay(0.01)
                .build();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, plan, dir.resolve("lora"));
        assertEquals("OPTIMIZER", a.property(ArtifactBuilder.PROP_DECAY));
        assertEquals(0.01f, adamWDecay(a));
    }

    private static float adamWDecay(TrainingArtifacts a) {
        OnnxModel om = OnnxModel.read(a.optimizerModel());
        Node adam = om.graph().nodes().stream()
                .filter(n -> n.opType().equals("AdamWOptimizer"))
                .findFirst()
                .orElseThrow();
        return Attributes.getFloat(adam, "weight_decay", -1f);
    }
}
