package dev.rectify.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.train.TinyLlama;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LoraInjectorTest {
    static final int B = 2;
    static final int S = 5;

    static float[] logits(OnnxModel m) {
        long[] ids = new long[B * S];
        long[] mask = new long[B * S];
        long[] pos = new long[B * S];
        Random r = new Random(1);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + r.nextInt(TinyLlama.VOCAB - 1);
            mask[i] = 1;
            pos[i] = i % S;
        }
        try (InferenceSession s = InferenceSession.fromBytes(m.toBytes(), "m", SessionConfig.defaults());
                Tensor a = Tensor.ofLongs(ids, B, S);
                Tensor b = Tensor.ofLongs(mask, B, S);
                Tensor c = Tensor.ofLongs(pos, B, S);
                Outputs o = s.run(Map.of("input_ids", a, "attention_mask", b, "position_ids", c), List.of("logits"))) {
            return o.get("logits").toFloats();
        }
    }

    static OnnxModel injected(OnnxModel base, LoraConfig cfg, List<LoraTarget> out) {
        Graph g = base.graph();
        out.addAll(LoraInjector.of(cfg).inject(g));
        return base.withGraph(g);
    }

    @Test
    void findsTargetsByWeightNameThroughTranspose() {
        OnnxModel base = TinyLlama.build(1, false);
        List<LoraTarget> t = LoraInjector.of(LoraConfig.defaults()).findTargets(base.graph());
        assertEquals(7 * TinyLlama.LAYERS, t.size());
        LoraTarget q = t.get(0);
        assertEquals("model.layers.0.self_attn.q_proj", q.module());
        assertEquals("model.layers.0.self_attn.q_proj.weight", q.baseWeight());
        assertEquals("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", q.loraA());
        assertEquals("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", q.loraB());
        LoraTarget gate = t.stream()
                .filter(x -> x.module().endsWith("layers.1.mlp.gate_proj"))
                .findFirst()
                .orElseThrow();
        assertEquals(TinyLlama.HIDDEN, gate.inFeatures());
        assertEquals(TinyLlama.INTER, gate.outFeatures());
        LoraTarget down = t.stream()
                .filter(x -> x.module().endsWith("layers.1.mlp.down_proj"))
                .findFirst()
                .orElseThrow();
        assertEquals(TinyLlama.INTER, down.inFeatures());
        assertEquals(TinyLlama.HIDDEN, down.outFeatures());
    }

    @Test
    void findsTargetsByNodeNameInConstantFoldedExports() {
        OnnxModel base = TinyLlama.build(1, true);
        List<LoraTarget> t = LoraInjector.of(LoraConfig.defaults()).findTargets(base.graph());
        assertEquals(7 * TinyLlama.LAYERS, t.size());
        LoraTarget q = t.get(0);
        assertEquals("model.layers.0.self_attn.q_proj", q.module());
        assertTrue(q.baseWeight().startsWith("onnx::MatMul_"), q.baseWeight());
        assertEquals("/model/layers.0/self_attn/q_proj/MatMul", q.nodeName());
        LoraTarget down = t.stream()
                .filter(x -> x.module().endsWith("layers.0.mlp.down_proj"))
                .findFirst()
                .orElseThrow();
        assertEquals(TinyLlama.INTER, down.inFeatures());
        assertEquals(TinyLlama.HIDDEN, down.outFeatures());
    }

    @Test
    void zeroBLeavesLogitsExactlyUnchanged() {
        for (boolean folded : new boolean[] {false, true}) {
            OnnxModel base = TinyLlama.build(2, folded);
            List<LoraTarget> targets = new ArrayList<>();
            OnnxModel lora =
                    injected(base, LoraConfig.builder().rank(4).alpha(16).build(), targets);
            Graph g = lora.graph();
            float[] a =
                    Tensors.toFloatArray(g.initializer(targets.get(0).loraA()).orElseThrow());
            assertTrue(Arrays.stream(toDouble(a)).anyMatch(v -> v != 0), "A is initialised");
            assertArrayEquals(logits(base), logits(lora), 0f, "folded=" + folded);
        }
    }

    @Test
    void nonZeroLoraEqualsMergedWeight() {
        OnnxModel base = TinyLlama.build(3, false);
        String module = "model.layers.1.self_attn.v_proj";
        int r = 2;
        int in = TinyLlama.HIDDEN;
        int out = TinyLlama.HIDDEN;
        Random rnd = new Random(9);
        float[] a = new float[r * in];
        float[] b = new float[out * r];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) rnd.nextGaussian() * 0.3f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = (float) rnd.nextGaussian() * 0.3f;
        }
        LoraConfig cfg = LoraConfig.builder()
                .rank(r)
                .alpha(3)
                .targetModules("v_proj")
                .initialValue(LoraTarget.loraAName(module), a)
                .initialValue(LoraTarget.loraBName(module), b)
                .build();
        List<LoraTarget> targets = new ArrayList<>();
        OnnxModel lora = injected(base, cfg, targets);
        assertEquals(TinyLlama.LAYERS, targets.size());
        // merged: W' = W + (alpha/r)·B·A, W [out, in]
        Graph g = base.graph();
        float[] w = Tensors.toFloatArray(g.initializer(module + ".weight").orElseThrow());
        double s = 3.0 / r;
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) {
                    d += b[o * r + k] * a[k * in + i];
                }
                w[o * in + i] += (float) (s * d);
            }
        }
        g.putInitializer(Tensors.ofFloats(module + ".weight", w, out, in));
        float[] merged = logits(base.withGraph(g));
        float[] adapted = logits(lora);
        assertNotEquals(logits(base)[0], adapted[0]);
        assertArrayEquals(merged, adapted, 1e-4f);
    }

    @Test
    void initialisationFollowsPeft() {
        OnnxModel base = TinyLlama.build(1, false);
        List<LoraTarget> t1 = new ArrayList<>();
        Graph g1 =
                injected(base, LoraConfig.builder().rank(4).seed(5).build(), t1).graph();
        Graph g2 = injected(
                        base,
                        LoraConfig.builder()
                                .rank(4)
                                .seed(5)
                                .targetModules("down_proj", "q_proj")
                                .build(),
                        new ArrayList<>())
                .graph();
        LoraTarget down = t1.stream()
                .filter(x -> x.module().endsWith("down_proj"))
                .findFirst()
                .orElseThrow();
        float[] a = Tensors.toFloatArray(g1.initializer(down.loraA()).orElseThrow());
        double bound = 1 / Math.sqrt(down.inFeatures());
        double max = 0;
        for (float v : a) {
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(max <= bound && max > 0.8 * bound, "A ~ U(-1/sqrt(in), 1/sqrt(in)): max " + max + " bound " + bound);
        assertArrayEquals(a, Tensors.toFloatArray(g2.initializer(down.loraA()).orElseThrow()), "seeded per module");
        for (float v : Tensors.toFloatArray(g1.initializer(down.loraB()).orElseThrow())) {
            assertEquals(0f, v);
        }
        assertArrayEquals(
                new long[] {4, TinyLlama.INTER},
                Tensors.dims(g1.initializer(down.loraA()).orElseThrow()));
        assertArrayEquals(
                new long[] {TinyLlama.HIDDEN, 4},
                Tensors.dims(g1.initializer(down.loraB()).orElseThrow()));
    }

    @Test
    void noTargetNamesPatternsAndCandidates() {
        OnnxModel base = TinyLlama.build(1, false);
        NoLoraTargetException e = assertThrows(
                NoLoraTargetException.class,
                () -> LoraInjector.of(LoraConfig.builder()
                                .targetModules(LoraConfig.GPT2_TARGETS)
                                .build())
                        .inject(base.graph()));
        assertTrue(e.getMessage().contains("c_attn"), e.getMessage());
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_proj.weight"), e.getMessage());
    }

    @Test
    void configValidation() {
        assertThrows(
                InvalidArgumentException.class,
                () -> LoraConfig.builder().rank(0).build());
        assertThrows(
                InvalidArgumentException.class,
                () -> LoraConfig.builder().alpha(-1).build());
        assertThrows(
                InvalidArgumentException.class,
                () -> LoraConfig.builder().targetModules(List.of()).build());
        assertThrows(
                InvalidArgumentException.class,
                () -> LoraConfig.builder().targetModules("self_attn.q_proj").build());
        LoraConfig c = LoraConfig.builder().rank(16).alpha(32).build();
        assertEquals(2.0, c.scaling());
        assertEquals(c, c.toBuilder().build());
        assertNotEquals(c.canonical(), c.toBuilder().seed(1).build().canonical());
        assertEquals(
                "model.layers.0.self_attn.q_proj",
                LoraInjector.moduleFromNodeName("/model/layers.0/self_attn/q_proj/MatMul"));
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
