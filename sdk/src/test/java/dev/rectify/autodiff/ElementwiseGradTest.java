package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.DOUBLE;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;

import dev.rectify.autodiff.GradCheck.Shapes;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Finite-difference checks of the element-wise rules, broadcasting included, static and dynamic shapes. */
class ElementwiseGradTest {
    static final DoubleUnaryOperator AWAY_FROM_ZERO = x -> x > 0 ? x + 0.3 : x - 0.3;
    static final DoubleUnaryOperator POSITIVE = x -> Math.abs(x) + 0.5;

    static final long[][][] SHAPE_PAIRS = {
        {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1, 4}, {3, 1}}, {{}, {2, 3}}, {{4, 1}, {1}}, {{1, 3}, {2, 1}},
    };

    static Stream<Arguments> binary() {
        List<Arguments> out = new ArrayList<>();
        for (String op : List.of("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min")) {
            for (long[][] p : SHAPE_PAIRS) {
                out.add(Arguments.of(op, p[0], p[1], Shapes.STATIC));
            }
            out.add(Arguments.of(op, new long[] {2, 1, 4}, new long[] {3, 1}, Shapes.UNKNOWN_DIMS));
            out.add(Arguments.of(op, new long[] {2, 3}, new long[] {2, 3}, Shapes.UNKNOWN_DIMS));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("binary")
    void binaryOps(String op, long[] a, long[] b, Shapes shapes) {
        DoubleUnaryOperator ta = op.equals("Pow") ? POSITIVE : x -> x;
        DoubleUnaryOperator tb = op.equals("Div") ? AWAY_FROM_ZERO : x -> x;
        GradCheck.of(op)
                .input("a", ta, a)
                .input("b", tb, b)
                .shapes(shapes)
                .eachAlone()
                .forward((g, t) -> g.op(op, "a", "b"))
                .check();
    }

    static Stream<Arguments> unary() {
        DoubleUnaryOperator id = x -> x;
        return Stream.of(
                Arguments.of("Neg", id, DOUBLE),
                Arguments.of("Sqrt", POSITIVE, DOUBLE),
                Arguments.of("Reciprocal", AWAY_FROM_ZERO, DOUBLE),
                Arguments.of("Exp", id, DOUBLE),
                Arguments.of("Log", POSITIVE, DOUBLE),
                Arguments.of("Sin", id, DOUBLE),
                Arguments.of("Sin", id, FLOAT),
                Arguments.of("Cos", id, FLOAT),
                Arguments.of("Abs", AWAY_FROM_ZERO, DOUBLE),
                Arguments.of("Erf", id, FLOAT),
                Arguments.of("Identity", id, DOUBLE),
                Arguments.of("Tanh", id, DOUBLE),
                Arguments.of("Tanh", id, FLOAT),
                Arguments.of("Sigmoid", id, DOUBLE),
                Arguments.of("Sigmoid", id, FLOAT),
                Arguments.of("Relu", AWAY_FROM_ZERO, DOUBLE),
                Arguments.of("Relu", AWAY_FROM_ZERO, FLOAT));
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("unary")
    void unaryOps(String op, DoubleUnaryOperator transform, DataType type) {
        GradCheck.of(op)
                .type(type)
                .input("x", transform, 2, 3)
                .forward((g, t) -> g.op(op, "x"))
                .check();
    }

    @Test
    void powWithConstantExponents() {
        for (double e : new double[] {2, 0.5, 3, 1, -1}) {
            GradCheck.of("Pow^" + e)
                    .input("x", POSITIVE, 2, 3)
                    .forward((g, t) -> {
                        g.initializer(GradCheck.constant(t, "e", new double[] {e}));
                        return g.op("Pow", "x", "e");
                    })
                    .check();
        }
        // an int64 exponent (Pow-12+), as exporters may write x ** 2
        GradCheck.of("PowInt")
                .input("x", 2, 3)
                .forward((g, t) -> {
                    g.initializer(Tensors.ofLongs("e", new long[] {3}));
                    return g.op("Pow", "x", "e");
                })
                .check();
        // a non-scalar exponent broadcasting the base
        GradCheck.of("PowBroadcast")
                .input("x", POSITIVE, 3)
                .input("e", 2, 3)
                .forward((g, t) -> g.op("Pow", "x", "e"))
                .check();
    }

    @Test
    void whereBroadcastsBothBranches() {
        for (Shapes s : List.of(Shapes.STATIC, Shapes.UNKNOWN_DIMS)) {
            GradCheck.of("Where")
                    .shapes(s)
                    .input("a", 2, 3)
                    .input("b", 3)
                    .eachAlone()
                    .forward((g, t) -> {
                        g.initializer(
                                Tensors.ofBooleans("c", new boolean[] {true, false, true, false, false, true}, 2, 3));
                        return g.op("Where", "c", "a", "b");
                    })
                    .check();
            GradCheck.of("WhereScalar")
                    .shapes(s)
                    .input("a")
                    .input("b", 1, 3)
                    .forward((g, t) -> {
                        g.initializer(Tensors.ofBooleans("c", new boolean[] {true, false}, 2, 1));
                        return g.op("Where", "c", "a", "b");
                    })
                    .check();
        }
    }

    @Test
    void clipAllForms() {
        double[] data = {-2.1, -0.7, 0.4, 1.6, 2.9, -1.2};
        // opset 17: min/max inputs, both, one, none
        GradCheck.of("Clip")
                .input("x", data, 2, 3)
                .forward((g, t) -> {
                    g.initializer(GradCheck.constant(t, "lo", new double[] {-1}));
                    g.initializer(GradCheck.constant(t, "hi", new double[] {1.5}));
                    return g.op("Clip", "x", "lo", "hi");
                })
                .check();
        GradCheck.of("ClipMaxOnly")
                .input("x", data, 2, 3)
                .forward((g, t) -> {
                    g.initializer(GradCheck.constant(t, "hi", new double[] {1.5}));
                    return g.op("Clip", "x", "", "hi");
                })
                .check();
        GradCheck.of("ClipNone")
                .input("x", data, 2, 3)
                .forward((g, t) -> g.op("Clip", "x"))
                .check();
        // opset 10: Clip-6 with attributes (float only in ORT)
        GradCheck.of("Clip6")
                .opset(10)
                .float32()
                .input("x", data, 2, 3)
                .forward((g, t) -> {
                    String y = g.op("Clip", "x");
                    g.graph()
                            .nodes()
                            .get(g.graph().nodes().size() - 1)
                            .attr("min", -1f)
                            .attr("max", 1.5f);
                    return y;
                })
                .check();
    }

    @Test
    void variadicSumMeanMax() {
        for (String op : List.of("Sum", "Mean", "Max", "Min")) {
            // ORT's CPU Mean has no double kernel
            DataType type = op.equals("Mean") ? FLOAT : DOUBLE;
            GradCheck.of(op + "3")
                    .type(type)
                    .input("a", 2, 3)
                    .input("b", 3)
                    .input("c", 2, 1)
                    .forward((g, t) -> g.op(op, "a", "b", "c"))
                    .check();
            GradCheck.of(op + "1")
                    .type(type)
                    .input("a", 2, 3)
                    .forward((g, t) -> g.op(op, "a"))
                    .check();
        }
    }

    @Test
    void maxTiesSplitEvenly() {
        // a == b everywhere: each gets half of dY
        GradCheck.of("MaxTie")
                .input("a", new double[] {1, 2, 3}, 3)
                .forward((g, t) -> {
                    String b = g.op("Identity", "a");
                    return g.op("Max", "a", b);
                })
                .check();
    }

    @Test
    void castRoundTrip() {
        GradCheck.of("Cast")
                .float32()
                .input("x", 2, 3)
                .forward((g, t) -> {
                    String d = g.op("Cast", "x");
                    g.graph().nodes().get(g.graph().nodes().size() - 1).attr("to", (long) DOUBLE.getNumber());
                    String sq = g.op("Mul", d, d);
                    String back = g.op("Cast", sq);
                    g.graph().nodes().get(g.graph().nodes().size() - 1).attr("to", (long) FLOAT.getNumber());
                    return back;
                })
                .check();
    }

    @Test
    void sameTensorOnBothSides() {
        for (String op : List.of("Add", "Sub", "Mul", "Div")) {
            GradCheck.of(op + "xx")
                    .input("x", AWAY_FROM_ZERO, 2, 3)
                    .forward((g, t) -> g.op(op, "x", "x"))
                    .check();
        }
    }
}
