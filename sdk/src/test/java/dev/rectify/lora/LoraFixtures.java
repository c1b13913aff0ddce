package dev.rectify.lora;

import dev.rectify.adapter.Adapter;
import dev.rectify.core.io.ContentHash;
import dev.rectify.generate.CausalLmSignature;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.RunOptions;
import dev.rectify.ort.Tensor;
import dev.rectify.train.TrainedWeights;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/** Random LoRA adapters for the bundled model and one-pass logits, for the lora and store tests. */
public final class LoraFixtures {
    private LoraFixtures() {}

    /** A LoRA adapter with seeded random A and B (B large enough to move the logits visibly). */
    public static Adapter random(BaseModel base, long seed, int rank, Set<String> modules) {
        OnnxModel m = OnnxModel.read(base.directory().resolve("model.onnx"));
        List<LoraTarget> targets = LoraInjector.of(
                        LoraConfig.builder().rank(rank).targetModules(modules).build())
                .findTargets(m.graph());
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (LoraTarget t : targets) {
            if (values.containsKey(t.loraA())) {
                continue;
            }
            values.put(t.loraA(), fill(r, rank * (int) t.inFeatures(), 1.0 / Math.sqrt(t.inFeatures())));
            shapes.put(t.loraA(), new long[] {rank, t.inFeatures()});
            values.put(t.loraB(), fill(r, (int) t.outFeatures() * rank, 0.2));
            shapes.put(t.loraB(), new long[] {t.outFeatures(), rank});
        }
        return Adapter.builder()
                .id(ContentHash.of("random\n" + seed + "\n" + rank + "\n" + modules))
                .baseModelHash(base.contentHash())
                .kind(Adapter.Kind.LORA)
                .lora(rank, 2.0 * rank, modules)
                .recipe("random seed " + seed)
                .weights(new TrainedWeights(values, shapes))
                .build();
    }

    private static float[] fill(SplittableRandom r, int n, double bound) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        }
        return v;
    }

    /** Logits [len * vocab] of one sequence through {@code s} (empty KV cache when the export has one). */
    public static float[] logits(InferenceSession s, BaseModel base, long[] ids, RunOptions ro) {
        CausalLmSignature sig = CausalLmSignature.of(s, base.config());
        Map<String, Tensor> feeds = new HashMap<>();
        int n = ids.length;
        long[] mask = new long[n];
        long[] pos = new long[n];
        for (int i = 0; i < n; i++) {
            mask[i] = 1;
            pos[i] = i;
        }
        try {
            feeds.put("input_ids", Tensor.ofLongs(ids, 1, n));
            if (sig.hasAttentionMask()) {
                feeds.put("attention_mask", Tensor.ofLongs(mask, 1, n));
            }
            if (sig.hasPositionIds()) {
                feeds.put("position_ids", Tensor.ofLongs(pos, 1, n));
            }
            for (int l = 0; l < sig.layers(); l++) {
                feeds.put(
                        sig.pastKeyNames().get(l), Tensor.zeros(ElementType.FLOAT, 1, sig.kvHeads(), 0, sig.headDim()));
                feeds.put(
                        sig.pastValueNames().get(l),
                        Tensor.zeros(ElementType.FLOAT, 1, sig.kvHeads(), 0, sig.headDim()));
            }
            try (Outputs o = s.run(feeds, List.of("logits"), ro)) {
                return o.get("logits").toFloats();
            }
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }

    /** The training-time graph (LoRA injected unmerged, A and B set to the adapter's weights) over model.onnx. */
    public static InferenceSession trainingGraph(BaseModel base, Adapter a) {
        LoraConfig.Builder cfg = a.loraConfig().toBuilder();
        a.weights().values().forEach(cfg::initialValue);
        OnnxModel m = OnnxModel.read(base.directory().resolve("model.onnx"));
        var g = m.graph();
        LoraInjector.of(cfg.build()).inject(g);
        return InferenceSession.fromBytes(
                m.withGraph(g).toBytes(), "training-graph", base.device().sessionConfig());
    }

    public static double maxAbsDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }
}
