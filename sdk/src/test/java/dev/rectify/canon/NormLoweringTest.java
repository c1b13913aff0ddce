package dev.rectify.canon;

import static dev.rectify.canon.LoweringCheck.check;
import static dev.rectify.canon.LoweringCheck.floats;
import static dev.rectify.canon.LoweringCheck.model;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT16;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT32;

import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Skip(Simplified)LayerNormalization, EmbedLayerNormalization and com.microsoft-tagged layer norms: fused vs lowered. */
class NormLoweringTest {
    private static final double TOL = 1e-5;

    @Test
    void skipLayerNormalizationWithEveryOptionalInputAndOutput() {
        for (boolean beta : List.of(true, false)) {
            for (boolean bias : List.of(true, false)) {
                Random r = new Random(1);
                GraphBuilder g = GraphBuilder.create("skip")
                        .input("x", FLOAT, 2, 3, 8)
                        .input("skip", FLOAT, 2, 3, 8)
                        .output("y", FLOAT, 2, 3, 8)
                        .output("sum", FLOAT, 2, 3, 8)
                        .initializer(Tensors.ofFloats("gamma", LoweringCheck.randn(r, 8, 1), 8))
                        .initializer(Tensors.ofFloats("beta", LoweringCheck.randn(r, 8, 1), 8))
                        .initializer(Tensors.ofFloats("bias", LoweringCheck.randn(r, 8, 1), 8));
                List<String> ins =
                        new ArrayList<>(List.of("x", "skip", "gamma", beta ? "beta" : "", bias ? "bias" : ""));
                g.node(OnnxModel.MICROSOFT, "SkipLayerNormalization", ins, List.of("y", "", "", "sum"))
                        .attr("epsilon", 1e-5f);
                Map<String, Tensor> feeds = new LinkedHashMap<>();
                feeds.put("x", floats(r, 2, 3, 8));
                feeds.put("skip", floats(r, 2, 3, 8));
                check(model(g, 17), feeds, "SkipLayerNormalization", TOL);
                LoweringCheck.closeAll(feeds);
            }
        }
    }

    @Test
    void skipSimplifiedLayerNormalizationAtOpset14() {
        for (boolean bias : List.of(true, false)) {
            Random r = new Random(2);
            GraphBuilder g = GraphBuilder.create("skip")
                    .input("x", FLOAT, 2, 3, 8)
                    .input("skip", FLOAT, 2, 3, 8)
                    .output("y", FLOAT, 2, 3, 8)
                    .output("sum", FLOAT, 2, 3, 8)
                    .initializer(Tensors.ofFloats("gamma", LoweringCheck.randn(r, 8, 1), 8))
                    .initializer(Tensors.ofFloats("bias", LoweringCheck.randn(r, 8, 1), 8));
            g.node(
                            OnnxModel.MICROSOFT,
                            "SkipSimplifiedLayerNormalization",
                            List.of("x", "skip", "gamma", bias ? "bias" : ""),
                            List.of("y", "", "", "sum"))
                    .attr("epsilon", 1e-6f);
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            feeds.put("x", floats(r, 2, 3, 8));
            feeds.put("skip", floats(r, 2, 3, 8));
            check(model(g, 14), feeds, "SkipSimplifiedLayerNormalization", TOL);
            LoweringCheck.closeAll(feeds);
        }
    }

    @Test
    void embedLayerNormalizationWithPositionIdsSegmentsAndMask() {
        for (boolean positions : List.of(true, false)) {
            for (boolean segments : List.of(true, false)) {
                Random r = new Random(3);
                GraphBuilder g = GraphBuilder.create("embed")
                        .input("ids", INT32, 2, 5)
                        .input("seg", INT32, 2, 5)
                        .input("mask", INT32, 2, 5)
                        .input("pos", INT32, 2, 5)
                        .output("y", FLOAT, 2, 5, 8)
                        .output("mask_index", INT32, 2)
                        .output("sum", FLOAT, 2, 5, 8)
                        .initializer(Tensors.ofFloats("word", LoweringCheck.randn(r, 11 * 8, 1), 11, 8))
                        .initializer(Tensors.ofFloats("posemb", LoweringCheck.randn(r, 7 * 8, 1), 7, 8))
                        .initializer(Tensors.ofFloats("segemb", LoweringCheck.randn(r, 2 * 8, 1), 2, 8))
                        .initializer(Tensors.ofFloats("gamma", LoweringCheck.randn(r, 8, 1), 8))
                        .initializer(Tensors.ofFloats("beta", LoweringCheck.randn(r, 8, 1), 8));
                g.node(
                                OnnxModel.MICROSOFT,
                                "EmbedLayerNormalization",
                                List.of(
                                        "ids",
                                        segments ? "seg" : "",
                                        "word",
                                        "posemb",
                                        segments ? "segemb" : "",
                                        "gamma",
                                        "beta",
                                        "mask",
                                        positions ? "pos" : ""),
                                List.of("y", "mask_index", "sum"))
                        .attr("epsilon", 1e-5f);
                // unused inputs still need feeding: keep them consumed through a harmless Identity chain
                if (!segments) {
                    g.node("Identity", List.of("seg"), List.of("seg_unused"));
                }
                if (!positions) {
                    g.node("Identity", List.of("pos"), List.of("pos_unused"));
                }
                Map<String, Tensor> feeds = new LinkedHashMap<>();
                feeds.put("ids", LoweringCheck.ints(new int[] {1, 5, 10, 0, 3, 7, 2, 2, 9, 4}, 2, 5));
                feeds.put("seg", LoweringCheck.ints(new int[] {0, 0, 1, 1, 1, 0, 1, 0, 1, 0}, 2, 5));
                feeds.put("mask", LoweringCheck.ints(new int[] {1, 1, 1, 1, 0, 1, 1, 1, 0, 0}, 2, 5));
                feeds.put("pos", LoweringCheck.ints(new int[] {0, 1, 2, 3, 4, 2, 3, 4, 5, 6}, 2, 5));
                check(model(g, 11), feeds, "EmbedLayerNormalization", TOL);
                LoweringCheck.closeAll(feeds);
            }
        }
    }

    @Test
    void halfPrecisionSkipLayerNormalization() {
        Random r = new Random(4);
        GraphBuilder g = GraphBuilder.create("skip16")
                .input("x", FLOAT16, 2, 3, 8)
                .input("skip", FLOAT16, 2, 3, 8)
                .output("y", FLOAT16, 2, 3, 8)
                .initializer(
                        Lower.floatTensor(toDoubles(LoweringCheck.randn(r, 8, 1)), FLOAT16.getNumber(), 8).toBuilder()
                                .setName("gamma")
                                .build())
                .initializer(
                        Lower.floatTensor(toDoubles(LoweringCheck.randn(r, 8, 1)), FLOAT16.getNumber(), 8).toBuilder()
                                .setName("beta")
                                .build());
        g.node(OnnxModel.MICROSOFT, "SkipLayerNormalization", List.of("x", "skip", "gamma", "beta"), List.of("y"))
                .attr("epsilon", 1e-5f);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        feeds.put("x", LoweringCheck.halfs(LoweringCheck.randn(r, 48, 1), 2, 3, 8));
        feeds.put("skip", LoweringCheck.halfs(LoweringCheck.randn(r, 48, 1), 2, 3, 8));
        check(model(g, 17), feeds, "SkipLayerNormalization", 2e-3);
        LoweringCheck.closeAll(feeds);
    }

    static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
