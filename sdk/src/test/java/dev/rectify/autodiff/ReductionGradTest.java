package dev.rectify.autodiff;

import dev.rectify.autodiff.GradCheck.Shapes;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** ReduceSum / ReduceMean / ReduceSumSquare: axes attribute or input, keepdims, negative axes, reduce-all, noop. */
class ReductionGradTest {
    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String op : List.of("ReduceSum", "ReduceMean", "ReduceSumSquare")) {
            for (int opset : new int[] {11, 17, 18}) {
                for (long[] axes : new long[][] {{1}, {0, -1}, {}, null}) {
                    for (long keep : new long[] {0, 1}) {
                        for (Shapes s : List.of(Shapes.STATIC, Shapes.UNKNOWN_DIMS)) {
                            out.add(Arguments.of(op, opset, axes, keep, s));
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    static boolean axesAsInput(String op, int opset) {
        return opset >= (op.equals("ReduceSum") ? 13 : 18);
    }

    @ParameterizedTest(name = "{0} opset {1} axes {2} keepdims {3} {4}")
    @MethodSource("cases")
    void reduce(String op, int opset, long[] axes, long keep, Shapes s) {
        if (axes != null && axes.length == 0 && !axesAsInput(op, opset)) {
            return; // an empty attribute is the same as none
        }
        GradCheck.of(op)
                .opset(opset)
                .shapes(s)
                .input("x", 2, 3, 4)
                .forward((g, t) -> {
                    Node n;
                    String y = g.uniqueName("y");
                    if (axes == null) {
                        n = g.node(op, List.of("x"), List.of(y));
                    } else if (axesAsInput(op, opset)) {
                        g.initializer(Tensors.ofLongs("axes", axes, axes.length));
                        n = g.node(op, List.of("x", "axes"), List.of(y));
                    } else {
                        n = g.node(op, List.of("x"), List.of(y)).attrInts("axes", axes);
                    }
                    n.attr("keepdims", keep);
                    return g.op("Mul", y, y);
                })
                .check();
    }

    @Test
    void noopWithEmptyAxesAndRuntimeAxes() {
        GradCheck.of("ReduceSumNoop")
                .input("x", 2, 3)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("axes", new long[0], 0));
                    String y = g.uniqueName("y");
                    g.node("ReduceSum", List.of("x", "axes"), List.of(y)).attr("noop_with_empty_axes", 1L);
                    return g.op("Mul", y, y);
                })
                .check();
        // axes computed at run time (from a graph input), keepdims 0
        for (String op : List.of("ReduceSum", "ReduceMean")) {
            GradCheck.of(op + "RuntimeAxes")
                    .opset(18)
                    .input("x", 2, 3, 4)
                    .forward((g, t) -> {
                        g.input("axes", OnnxProto.TensorProto.DataType.INT64, 1);
                        String y = g.uniqueName("y");
                        g.node(op, List.of("x", "axes"), List.of(y)).attr("keepdims", 0L);
                        return g.op("Mul", y, y);
                    })
                    .feed("axes", new long[] {1})
                    .check();
        }
    }

    static Node last(GraphBuilder g) {
        return g.graph().nodes().get(g.graph().nodes().size() - 1);
    }
}
