package dev.rectify.canon;

import static dev.rectify.canon.LoweringCheck.check;
import static dev.rectify.canon.LoweringCheck.floats;
import static dev.rectify.canon.LoweringCheck.model;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT64;

import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.ort.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** com.microsoft RotaryEmbedding and ONNX RotaryEmbedding-23: fused vs lowered. */
class RotaryLoweringTest {
    private static final double TOL = 1e-5;
    static final int MAX_POS = 16;

    /** cos/sin caches [MAX_POS, half] with HF's inverse frequencies (theta 10000). */
    static TensorProto cache(String name, int half, boolean sin) {
        float[] v = new float[MAX_POS * half];
        for (int p = 0; p < MAX_POS; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p / Math.pow(10000, 2.0 * i / (2 * half));
                v[p * half + i] = (float) (sin ? Math.sin(angle) : Math.cos(angle));
            }
        }
        return Tensors.ofFloats(name, v, MAX_POS, half);
    }

    private static void microsoft(boolean fourD, boolean interleaved, boolean offsetPositions, int rotDim) {
        int b = 2;
        int s = 3;
        int n = 2;
        int h = 8;
        int half = (rotDim == 0 ? h : rotDim) / 2;
        Random r = new Random(11);
        long[] shape = fourD ? new long[] {b, n, s, h} : new long[] {b, s, n * h};
        GraphBuilder g = GraphBuilder.create("rope")
                .input("x", FLOAT, (Object[]) box(shape))
                .output("y", FLOAT, (Object[]) box(shape))
                .initializer(cache("cos", half, false))
                .initializer(cache("sin", half, true));
        if (offsetPositions) {
            g.input("pos", INT64, 1);
        } else {
            g.input("pos", INT64, b, s);
        }
        Node node = g.node(OnnxModel.MICROSOFT, "RotaryEmbedding", List.of("x", "pos", "cos", "sin"), List.of("y"))
                .attr("interleaved", interleaved ? 1L : 0L);
        if (rotDim > 0) {
            node.attr("rotary_embedding_dim", (long) rotDim).attr("num_heads", (long) n);
        }
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        feeds.put("x", floats(r, shape));
        feeds.put(
                "pos",
                offsetPositions
                        ? Tensor.ofLongs(new long[] {4}, 1)
                        : Tensor.ofLongs(new long[] {0, 1, 2, 5, 9, 13}, b, s));
        check(model(g, 17), feeds, "RotaryEmbedding", TOL);
        LoweringCheck.closeAll(feeds);
    }

    static Long[] box(long[] s) {
        Long[] o = new Long[s.length];
        for (int i = 0; i < s.length; i++) {
            o[i] = s[i];
        }
        return o;
    }

    @Test
    void microsoftRotaryHalvesAndPairsIn3dAnd4d() {
        for (boolean fourD : List.of(false, true)) {
            for (boolean interleaved : List.of(false, true)) {
                microsoft(fourD, interleaved, false, 0);
            }
        }
    }

    @Test
    void microsoftRotaryWithAStartOffset() {
        microsoft(false, false, true, 0);
        microsoft(true, true, true, 0);
    }

    @Test
    void microsoftPartialRotaryPassesTheRestThrough() {
        microsoft(false, false, false, 4);
        microsoft(false, true, false, 4);
    }

    @Test
    void onnxRotaryEmbedding23() {
        for (boolean interleaved : List.of(false, true)) {
            for (boolean fourD : List.of(false, true)) {
                for (int rotDim : new int[] {0, 4}) {
                    Random r = new Random(12);
                    long[] shape = fourD ? new long[] {2, 2, 3, 8} : new long[] {2, 3, 16};
                    int half = (rotDim == 0 ? 8 : rotDim) / 2;
                    GraphBuilder g = GraphBuilder.create("rope23")
                            .input("x", FLOAT, (Object[]) box(shape))
                            .input("pos", INT64, 2, 3)
                            .output("y", FLOAT, (Object[]) box(shape))
                            .initializer(cache("cos", half, false))
                            .initializer(cache("sin", half, true));
                    Node node = g.node("RotaryEmbedding", List.of("x", "cos", "sin", "pos"), List.of("y"))
                            .attr("interleaved", interleaved ? 1L : 0L);
                    if (!fourD) {
                        node.attr("num_heads", 2L);
                    }
                    if (rotDim > 0) {
                        node.attr("rotary_embedding_dim", (long) rotDim);
                    }
                    Map<String, Tensor> feeds = new LinkedHashMap<>();
                    feeds.put("x", floats(r, shape));
                    feeds.put("pos", Tensor.ofLongs(new long[] {0, 1, 2, 7, 8, 9}, 2, 3));
                    check(LoweringCheck.model(g, 23), feeds, "RotaryEmbedding", TOL);
                    LoweringCheck.closeAll(feeds);
                }
            }
        }
    }
}
