package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;

import dev.rectify.autodiff.GradCheck.Shapes;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Transpose, Reshape, Flatten, Squeeze/Unsqueeze, Concat, Split, Slice, Gather, GatherElements, Expand. */
class ShapeGradTest {
    static Node last(GraphBuilder g) {
        return g.graph().nodes().get(g.graph().nodes().size() - 1);
    }

    /** Multiplies by the input so that the gradient depends on where each element went. */
    static String sq(GraphBuilder g, String y) {
        return g.op("Mul", y, y);
    }

    @ParameterizedTest
    @EnumSource(
            value = Shapes.class,
            names = {"STATIC", "UNKNOWN_DIMS"})
    void transposeReshapeFlatten(Shapes s) {
        GradCheck.of("Transpose")
                .shapes(s)
                .input("x", 2, 3, 4)
                .forward((g, t) -> {
                    String y = g.op("Transpose", "x");
                    last(g).attrInts("perm", 1, 2, 0);
                    return sq(g, y);
                })
                .check();
        GradCheck.of("TransposeDefault")
                .shapes(s)
                .input("x", 2, 3, 4)
                .forward((g, t) -> sq(g, g.op("Transpose", "x")))
                .check();
        GradCheck.of("Reshape")
                .shapes(s)
                .input("x", 2, 3, 4)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("shape", new long[] {0, -1, 2}, 3));
                    return sq(g, g.op("Reshape", "x", "shape"));
                })
                .check();
        for (long axis : new long[] {0, 1, -1, 3}) {
            GradCheck.of("Flatten" + axis)
                    .shapes(s)
                    .input("x", 2, 3, 4)
                    .forward((g, t) -> {
                        String y = g.op("Flatten", "x");
                        last(g).attr("axis", axis);
                        return sq(g, y);
                    })
                    .check();
        }
    }

    @Test
    void squeezeUnsqueezeAllForms() {
        for (int opset : new int[] {11, 13, 21}) {
            boolean input = opset >= 13;
            GradCheck.of("Unsqueeze" + opset)
                    .opset(opset)
                    .input("x", 2, 3)
                    .forward((g, t) -> {
                        String y;
                        if (input) {
                            g.initializer(Tensors.ofLongs("axes", new long[] {0, -1}, 2));
                            y = g.op("Unsqueeze", "x", "axes");
                        } else {
                            y = g.op("Unsqueeze", "x");
                            last(g).attrInts("axes", 0, -1);
                        }
                        return sq(g, y);
                    })
                    .check();
            GradCheck.of("Squeeze" + opset)
                    .opset(opset)
                    .input("x", 2, 1, 3, 1)
                    .forward((g, t) -> {
                        String y;
                        if (input) {
                            g.initializer(Tensors.ofLongs("axes", new long[] {1, -1}, 2));
                            y = g.op("Squeeze", "x", "axes");
                        } else {
                            y = g.op("Squeeze", "x");
                            last(g).attrInts("axes", 1, -1);
                        }
                        return sq(g, y);
                    })
                    .check();
            GradCheck.of("SqueezeAll" + opset)
                    .opset(opset)
                    .input("x", 2, 1, 3, 1)
                    .forward((g, t) -> sq(g, g.op("Squeeze", "x")))
                    .check();
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = Shapes.class,
            names = {"STATIC", "UNKNOWN_DIMS"})
    void concat(Shapes s) {
        for (int opset : new int[] {11, 17}) {
            if (opset == 11 && s != Shapes.STATIC) {
                continue;
            }
            for (long axis : new long[] {1, -1}) {
                GradCheck.of("Concat")
                        .opset(opset)
                        .shapes(s)
                        .input("a", 2, 3)
                        .input("b", 2, 1)
                        .input("c", 2, 2)
                        .eachAlone()
                        .forward((g, t) -> {
                            String y = g.op("Concat", "a", "b", "c", "a");
                            last(g).attr("axis", axis);
                            return sq(g, y);
                        })
                        .check();
            }
        }
    }

    @Test
    void splitWithUnusedOutputs() {
        for (int opset : new int[] {11, 13, 18}) {
            for (boolean useSecond : List.of(true, false)) {
                GradCheck.of("Split" + opset)
                        .opset(opset)
                        .input("x", 2, 6)
                        .forward((g, t) -> {
                            Node n;
                            if (opset >= 18 && !useSecond) {
                                n = g.node("Split", List.of("x"), List.of("s0", "s1", "s2"))
                                        .attr("num_outputs", 3L);
                            } else if (opset >= 13) {
                                g.initializer(Tensors.ofLongs("split", new long[] {1, 3, 2}, 3));
                                n = g.node("Split", List.of("x", "split"), List.of("s0", "s1", "s2"));
                            } else {
                                n = g.node("Split", List.of("x"), List.of("s0", "s1", "s2"))
                                        .attrInts("split", 1, 3, 2);
                            }
                            n.attr("axis", 1L);
                            // s1 unused when !useSecond: its gradient must be zeros of the right size
                            String a = g.op("ReduceSum", "s0");
                            String b = g.op("ReduceSum", g.op("Mul", "s2", "s2"));
                            String y = g.op("Add", a, b);
                            return useSecond ? g.op("Add", y, g.op("ReduceSum", g.op("Exp", "s1"))) : y;
                        })
                        .check();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = Shapes.class,
            names = {"STATIC", "UNKNOWN_DIMS"})
    void slice(Shapes s) {
        long[][][] cases = {
            {{1}, {3}, null, null},
            {{0, 1}, {2, 4}, {0, 2}, null},
            {{-1}, {-5}, {2}, {-2}},
            {{4}, {Long.MAX_VALUE}, {-1}, {1}},
            {{0, 3}, {1, 0}, {0, 2}, {1, -1}},
        };
        for (long[][] c : cases) {
            GradCheck.of("Slice")
                    .shapes(s)
                    .input("x", 2, 3, 5)
                    .forward((g, t) -> {
                        g.initializer(Tensors.ofLongs("starts", c[0], c[0].length));
                        g.initializer(Tensors.ofLongs("ends", c[1], c[1].length));
                        String axes = "";
                        if (c[2] != null) {
                            g.initializer(Tensors.ofLongs("axes", c[2], c[2].length));
                            axes = "axes";
                        }
                        String y;
                        if (c[3] != null) {
                            g.initializer(Tensors.ofLongs("steps", c[3], c[3].length));
                            y = g.op("Slice", "x", "starts", "ends", axes, "steps");
                        } else if (!axes.isEmpty()) {
                            y = g.op("Slice", "x", "starts", "ends", axes);
                        } else {
                            y = g.op("Slice", "x", "starts", "ends");
                        }
                        return sq(g, y);
                    })
                    .check();
        }
    }

    @Test
    void sliceFloat32AndSlice1() {
        GradCheck.of("SliceF")
                .float32()
                .input("x", 4, 6)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("starts", new long[] {1, 0}, 2));
                    g.initializer(Tensors.ofLongs("ends", new long[] {3, 5}, 2));
                    return sq(g, g.op("Slice", "x", "starts", "ends"));
                })
                .check();
        GradCheck.of("Slice1")
                .opset(9)
                .float32()
                .input("x", 4, 6)
                .forward((g, t) -> {
                    String y = g.op("Slice", "x");
                    last(g).attrInts("starts", 1, 2).attrInts("ends", 3, 100).attrInts("axes", 0, 1);
                    return sq(g, y);
                })
                .check();
    }

    @Test
    void gather() {
        // duplicates, negative indices, 2-D indices, scalar index, axis 1
        long[][] idx = {{0, 2, 2, -1}, {1}};
        GradCheck.of("Gather")
                .input("x", 4, 3)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("i", new long[] {0, 2, 2, -1, 3, 0}, 2, 3));
                    return sq(g, g.op("Gather", "x", "i"));
                })
                .check();
        GradCheck.of("GatherScalar")
                .input("x", 4, 3)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("i", new long[] {2}));
                    return sq(g, g.op("Gather", "x", "i"));
                })
                .check();
        GradCheck.of("GatherAxis1")
                .float32()
                .input("x", 2, 4, 3)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofInts("i", new int[] {3, 1, 1}, 3));
                    String y = g.op("Gather", "x", "i");
                    last(g).attr("axis", 1L);
                    return sq(g, y);
                })
                .check();
        GradCheck.of("GatherElements")
                .input("x", 3, 4)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("i", new long[] {0, 3, 3, 1, 2, 0}, 3, 2));
                    String y = g.op("GatherElements", "x", "i");
                    last(g).attr("axis", 1L);
                    return sq(g, y);
                })
                .check();
    }

    @ParameterizedTest
    @EnumSource(
            value = Shapes.class,
            names = {"STATIC", "UNKNOWN_DIMS"})
    void expand(Shapes s) {
        long[][][] cases = {{{3, 1}, {2, 3, 4}}, {{1}, {2, 3}}, {{2, 3}, {2, 3}}, {{}, {3}}, {{4}, {2, 1, 4}}};
        for (long[][] c : cases) {
            GradCheck.of("Expand")
                    .shapes(s)
                    .input("x", c[0])
                    .forward((g, t) -> {
                        g.initializer(Tensors.ofLongs("shape", c[1], c[1].length));
                        return sq(g, g.op("Expand", "x", "shape"));
                    })
                    .check();
        }
        // a run-time shape (no static information at all)
        GradCheck.of("ExpandDynamic")
                .input("x", 3, 1)
                .input("like", 2, 3, 4)
                .wrt("x")
                .forward((g, t) -> {
                    String y = g.op("Expand", "x", g.op("Shape", "like"));
                    return sq(g, y);
                })
                .check();
    }

    @Test
    void gqaRepeatKv() {
        // Unsqueeze -> Expand -> Reshape, as HF repeat_kv exports
        GradCheck.of("RepeatKv")
                .input("kv", 1, 2, 3, 4)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("ax", new long[] {2}, 1));
                    g.initializer(Tensors.ofLongs("es", new long[] {1, 2, 3, 3, 4}, 5));
                    g.initializer(Tensors.ofLongs("rs", new long[] {1, 6, 3, 4}, 4));
                    String u = g.op("Unsqueeze", "kv", "ax");
                    String e = g.op("Expand", u, "es");
                    return sq(g, g.op("Reshape", e, "rs"));
                })
                .check();
        GradCheck.of("RepeatKvF")
                .float32()
                .input("kv", 1, 2, 3, 4)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("ax", new long[] {2}, 1));
                    g.initializer(Tensors.ofLongs("es", new long[] {1, 2, 3, 3, 4}, 5));
                    g.initializer(Tensors.ofLongs("rs", new long[] {1, 6, 3, 4}, 4));
                    String u = g.op("Unsqueeze", "kv", "ax");
                    return sq(g, g.op("Reshape", g.op("Expand", u, "es"), "rs"));
                })
                .type(FLOAT)
                .check();
    }
}
