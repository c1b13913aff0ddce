package dev.rectify.canon;

import static dev.rectify.canon.LoweringCheck.check;
import static dev.rectify.canon.LoweringCheck.floats;
import static dev.rectify.canon.LoweringCheck.model;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT16;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** FastGelu, BiasGelu, Gelu, QuickGelu, FusedMatMul and CastLike: fused vs lowered; unlowerable ops fail typed. */
class ActivationLoweringTest {
    private static final double TOL = 1e-5;

    private static Map<String, Tensor> feed(String name, Tensor t) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(name, t);
        return m;
    }

    private static void unary(String op, boolean bias, float alpha) {
        Random r = new Random(op.hashCode());
        GraphBuilder g = GraphBuilder.create(op)
                .input("x", FLOAT, 2, 3, 8)
                .output("y", FLOAT, 2, 3, 8)
                .initializer(Tensors.ofFloats("b", LoweringCheck.randn(r, 8, 1), 8));
        var n = g.node(OnnxModel.MICROSOFT, op, bias ? List.of("x", "b") : List.of("x"), List.of("y"));
        if (alpha != 0) {
            n.attr("alpha", alpha);
        }
        Map<String, Tensor> feeds = feed("x", Tensor.ofFloats(LoweringCheck.randn(r, 48, 2), 2, 3, 8));
        check(model(g, 17), feeds, op, TOL);
        LoweringCheck.closeAll(feeds);
    }

    @Test
    void geluFamily() {
        unary("FastGelu", false, 0);
        unary("FastGelu", true, 0);
        unary("BiasGelu", true, 0);
        unary("Gelu", false, 0);
        unary("QuickGelu", false, 0);
        unary("QuickGelu", false, 1.5f);
    }

    @Test
    void halfPrecisionFastGeluWithBias() {
        Random r = new Random(5);
        GraphBuilder g = GraphBuilder.create("fg16")
                .input("x", FLOAT16, 2, 8)
                .output("y", FLOAT16, 2, 8)
                .initializer(Lower.floatTensor(
                                NormLoweringTest.toDoubles(LoweringCheck.randn(r, 8, 1)), FLOAT16.getNumber(), 8)
                        .toBuilder()
                        .setName("b")
                        .build());
        g.node(OnnxModel.MICROSOFT, "FastGelu", List.of("x", "b"), List.of("y"));
        Map<String, Tensor> feeds = feed("x", LoweringCheck.halfs(LoweringCheck.randn(r, 16, 2), 2, 8));
        check(model(g, 11), feeds, "FastGelu", 2e-3);
        LoweringCheck.closeAll(feeds);
    }

    @Test
    void fusedMatMulTransposesAndScales() {
        for (long ta : new long[] {0, 1}) {
            for (long tb : new long[] {0, 1}) {
                Random r = new Random(6);
                long[] a = ta == 1 ? new long[] {2, 5, 3} : new long[] {2, 3, 5};
                long[] b = tb == 1 ? new long[] {4, 5} : new long[] {5, 4};
                GraphBuilder g = GraphBuilder.create("fmm")
                        .input("a", FLOAT, a[0], a[1], a[2])
                        .output("y", FLOAT, 2, 3, 4)
                        .initializer(Tensors.ofFloats("B", LoweringCheck.randn(r, 20, 1), b));
                g.node(OnnxModel.MICROSOFT, "FusedMatMul", List.of("a", "B"), List.of("y"))
                        .attr("transA", ta)
                        .attr("transB", tb)
                        .attr("alpha", 0.37f);
                Map<String, Tensor> feeds = feed("a", floats(r, a));
                check(model(g, 17), feeds, "FusedMatMul", TOL);
                LoweringCheck.closeAll(feeds);
            }
        }
    }

    @Test
    void castLikeBecomesCast() {
        Random r = new Random(7);
        GraphBuilder g = GraphBuilder.create("cl")
                .input("x", FLOAT, 2, 3)
                .output("y", FLOAT16, 2, 3)
                .initializer(Lower.floatTensor(new double[] {1}, FLOAT16.getNumber(), 1).toBuilder()
                        .setName("like")
                        .build());
        g.node("CastLike", List.of("x", "like"), List.of("y"));
        Map<String, Tensor> feeds = feed("x", floats(r, 2, 3));
        check(model(g, 19), feeds, "CastLike", 0);
        LoweringCheck.closeAll(feeds);
    }

    @Test
    void inferenceOnlyOpsAndUnsupportedFormsFailNamingTheNode() {
        GraphBuilder g = GraphBuilder.create("q").input("x", FLOAT, 2, 8).output("y", FLOAT, 2, 4);
        g.node(OnnxModel.MICROSOFT, "DynamicQuantizeMatMul", List.of("x", "w", "s"), List.of("y"))
                .name("dq");
        UnlowerableOpException e = assertThrows(
                UnlowerableOpException.class, () -> Canonicalizer.standard().lower(g.graph(), 17));
        assertTrue(
                e.getMessage().contains("'dq'")
                        && e.getMessage().contains("DynamicQuantizeMatMul")
                        && e.getMessage().contains("Train from"),
                e.getMessage());

        GraphBuilder f = GraphBuilder.create("f")
                .input("a", FLOAT, 2, 3, 5)
                .input("b", FLOAT, 2, 5, 4)
                .output("y", FLOAT, 2, 3, 4);
        f.node(OnnxModel.MICROSOFT, "FusedMatMul", List.of("a", "b"), List.of("y"))
                .name("fm")
                .attr("transBatchA", 1L);
        e = assertThrows(
                UnlowerableOpException.class, () -> Canonicalizer.standard().lower(f.graph(), 17));
        assertTrue(e.getMessage().contains("transBatchA") && e.nodeName().equals("fm"), e.getMessage());
    }
}
