package dev.rectify.canon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The two real exports in {@code ../shared/models/wild} (float16, fused com.microsoft ops): the lowered graph, made
 * of standard ONNX ops only, gives the same logits and KV cache as the fused graph in ONNX Runtime, within half
 * precision (compared in float32 after upcasting), for a prompt and for a decoding step over a past.
 */
class WildModelLoweringTest {
    static final Path WILD = Path.of("..", "..", "shared", "models", "wild");
    /**
     * Tolerance for float16 outputs after a whole model, relative to each output's largest magnitude: a few float16
     * roundings (2^-11 ≈ 4.9e-4 each) of the hidden states the fused kernels and the lowered ops round differently.
     */
    static final double HALF_TOL = 1e-2;

    static Path wild(String folder, String file) {
        Path p = WILD.resolve(folder).resolve(file);
        assertTrue(
                Files.isRegularFile(p),
                "missing test model " + p.toAbsolutePath()
                        + " (the shared folder must sit beside the repository clone)");
        return p;
    }

    private static Tensor ids(Random r, int vocab, ElementType type, int b, int s) {
        long[] v = new long[b * s];
        for (int i = 0; i < v.length; i++) {
            v[i] = 1 + r.nextInt(vocab - 1);
        }
        return longsAs(v, type, b, s);
    }

    static Tensor longsAs(long[] v, ElementType type, long... shape) {
        if (type == ElementType.INT64) {
            return Tensor.ofLongs(v, shape);
        }
        int[] i = new int[v.length];
        for (int k = 0; k < v.length; k++) {
            i[k] = (int) v[k];
        }
        return LoweringCheck.ints(i, shape);
    }

    private static Tensor positions(ElementType type, int b, int past, int s) {
        long[] v = new long[b * s];
        for (int i = 0; i < v.length; i++) {
            v[i] = past + i % s;
        }
        return longsAs(v, type, b, s);
    }

    private static Tensor ones(ElementType type, int b, int t) {
        long[] v = new long[b * t];
        Arrays.fill(v, 1);
        return longsAs(v, type, b, t);
    }

    private static Tensor halfNoise(Random r, long... shape) {
        return LoweringCheck.halfs(LoweringCheck.randn(r, LoweringCheck.size(shape), 0.5), shape);
    }

    private static void assertLowerable(OnnxModel m) {
        OnnxModel low = LoweringCheck.lowered(OnnxModel.of(m.proto()), "");
        for (Node n : low.graph().nodes()) {
            assertEquals("", n.domain(), "non-standard op left: " + n);
        }
    }

    @Test
    void llamaGenAiLogitsAndCacheMatchAfterLowering() {
        OnnxModel m = OnnxModel.read(wild("llama-genai-fp16", "model.onnx"));
        assertLowerable(m);
        Random r = new Random(31);
        for (int past : new int[] {0, 3}) {
            int b = 2;
            // the GenAI graph's own mask subgraph takes one token at a time after the prompt
            int s = past == 0 ? 5 : 1;
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            feeds.put("input_ids", ids(r, 32000, ElementType.INT64, b, s));
            feeds.put("attention_mask", ones(ElementType.INT64, b, past + s));
            feeds.put("position_ids", positions(ElementType.INT64, b, past, s));
            for (int layer = 0; layer < 2; layer++) {
                feeds.put("past_key_values." + layer + ".key", halfNoise(r, b, 1, past, 16));
                feeds.put("past_key_values." + layer + ".value", halfNoise(r, b, 1, past, 16));
            }
            double worst = LoweringCheck.check(m, feeds, "", HALF_TOL, 1.0);
            System.out.printf("llama-genai-fp16 past=%d: worst relative difference %.2e%n", past, worst);
            LoweringCheck.closeAll(feeds);
        }
    }

    @Test
    void gpt2OrtOptimizerLogitsAndCacheMatchAfterLowering() {
        OnnxModel m = OnnxModel.read(wild("gpt2-ort-fp16", "past.onnx"));
        assertLowerable(m);
        Random r = new Random(32);
        for (int past : new int[] {0, 3}) {
            int b = 2;
            int s = past == 0 ? 5 : 2;
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            feeds.put("input_ids", ids(r, 1000, ElementType.INT32, b, s));
            feeds.put("position_ids", positions(ElementType.INT32, b, past, s));
            feeds.put("attention_mask", ones(ElementType.INT32, b, past + s));
            for (int layer = 0; layer < 5; layer++) {
                feeds.put("past_" + layer, halfNoise(r, 2, b, 4, past, 8));
            }
            double worst = LoweringCheck.check(m, feeds, "", HALF_TOL, 1.0);
            System.out.printf("gpt2-ort-fp16 past=%d: worst relative difference %.2e%n", past, worst);
            LoweringCheck.closeAll(feeds);
        }
    }
}
