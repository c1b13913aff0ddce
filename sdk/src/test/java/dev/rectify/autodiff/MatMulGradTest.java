package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.DOUBLE;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;

import dev.rectify.autodiff.GradCheck.Shapes;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** MatMul (batched, broadcast batch, rank 1), Gemm (every transpose, C shapes, alpha/beta), FusedMatMul. */
class MatMulGradTest {
    static final long[][][] PAIRS = {
        {{2, 3}, {3, 4}},
        {{2, 5, 3}, {3, 4}},
        {{2, 2, 5, 3}, {3, 4}},
        {{2, 5, 3}, {2, 3, 4}},
        {{2, 1, 5, 3}, {3, 3, 4}},
        {{5, 3}, {2, 3, 4}},
        {{3}, {3, 4}},
        {{2, 3}, {3}},
        {{3}, {3}},
        {{3}, {2, 3, 4}},
        {{2, 5, 3}, {3}},
        {{1, 5, 3}, {2, 3, 4}},
    };

    static Stream<Arguments> matmul() {
        List<Arguments> out = new ArrayList<>();
        for (long[][] p : PAIRS) {
            out.add(Arguments.of(p[0], p[1], Shapes.STATIC));
            out.add(Arguments.of(p[0], p[1], Shapes.UNKNOWN_DIMS));
        }
        out.add(Arguments.of(new long[] {2, 5, 3}, new long[] {2, 3, 4}, Shapes.UNKNOWN_RANK));
        out.add(Arguments.of(new long[] {2, 5, 3}, new long[] {3, 4}, Shapes.UNKNOWN_RANK));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} x {1} {2}")
    @MethodSource("matmul")
    void matmul(long[] a, long[] b, Shapes shapes) {
        // unknown ranks go through FusedMatMul, float-only on CPU
        GradCheck.of("MatMul")
                .type(shapes == Shapes.UNKNOWN_RANK ? FLOAT : DOUBLE)
                .input("a", a)
                .input("b", b)
                .shapes(shapes)
                .eachAlone()
                .forward((g, t) -> g.op("MatMul", "a", "b"))
                .check();
    }

    static Node last(GraphBuilder g) {
        return g.graph().nodes().get(g.graph().nodes().size() - 1);
    }

    @Test
    void gemmAllTransposesAndBiases() {
        long[][] cShapes = {{}, {4}, {1, 4}, {2, 1}, {2, 4}, null};
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                for (long[] c : cShapes) {
                    final int fa = ta;
                    final int fb = tb;
                    GradCheck gc = GradCheck.of("Gemm")
                            .input("a", ta == 1 ? new long[] {3, 2} : new long[] {2, 3})
                            .input("b", tb == 1 ? new long[] {4, 3} : new long[] {3, 4});
                    if (c != null) {
                        gc.input("c", c);
                    }
                    gc.eachAlone()
                            .forward((g, t) -> {
                                String y = c == null ? g.op("Gemm", "a", "b") : g.op("Gemm", "a", "b", "c");
                                last(g).attr("transA", (long) fa)
                                        .attr("transB", (long) fb)
                                        .attr("alpha", 0.7f)
                                        .attr("beta", c == null ? 1f : 2.5f);
                                return y;
                            })
                            .check();
                }
            }
        }
    }

    @Test
    void fusedMatMul() {
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                final long fa = ta;
                final long fb = tb;
                for (Shapes s : List.of(Shapes.STATIC, Shapes.UNKNOWN_DIMS)) {
                    GradCheck.of("FusedMatMul")
                            .float32()
                            .shapes(s)
                            .input("a", ta == 1 ? new long[] {2, 3, 5} : new long[] {2, 5, 3})
                            .input("b", tb == 1 ? new long[] {4, 3} : new long[] {3, 4})
                            .eachAlone()
                            .forward((g, t) -> {
                                String y = g.uniqueName("y");
                                g.node(OnnxModel.MICROSOFT, "FusedMatMul", List.of("a", "b"), List.of(y))
                                        .attr("transA", fa)
                                        .attr("transB", fb)
                                        .attr("alpha", 1.5f);
                                return y;
                            })
                            .check();
                }
            }
        }
    }

    @Test
    void float32MatMulUsesGemmForWeights() {
        GradCheck.of("MatMulF32")
                .float32()
                .input("a", 2, 5, 3)
                .input("w", 3, 4)
                .forward((g, t) -> g.op("MatMul", "a", "w"))
                .check();
    }

    @Test
    void matMulAtOpset11() {
        GradCheck.of("MatMul11")
                .opset(11)
                .float32()
                .input("a", 2, 5, 3)
                .input("b", 1, 3, 4)
                .shapes(Shapes.UNKNOWN_DIMS)
                .forward((g, t) -> g.op("MatMul", "a", "b"))
                .check();
        GradCheck.of("MatMul11s")
                .opset(11)
                .input("a", 3)
                .input("b", 2, 3, 4)
                .forward((g, t) -> g.op("MatMul", "a", "b"))
                .check();
    }
}
