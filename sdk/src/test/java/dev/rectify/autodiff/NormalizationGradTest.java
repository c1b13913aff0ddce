package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.DOUBLE;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;

import dev.rectify.autodiff.GradCheck.Shapes;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** LayerNormalization, SimplifiedLayerNormalization (RMSNorm) and RMSNormalization-23. */
class NormalizationGradTest {
    static final double EPS = 1e-5;

    @Test
    void layerNormalization() {
        for (DataType type : List.of(FLOAT, DOUBLE)) {
            for (long axis : new long[] {-1, 1}) {
                for (boolean bias : List.of(true, false)) {
                    for (boolean outputs : List.of(true, false)) {
                        long[] scaleShape = axis == -1 ? new long[] {4} : new long[] {3, 4};
                        GradCheck gc = GradCheck.of("LayerNorm")
                                .type(type)
                                .input("x", 2, 3, 4)
                                .input("s", scaleShape);
                        if (bias) {
                            gc.input("b", scaleShape);
                        }
                        gc.forward((g, t) -> {
                                    List<String> ins = new ArrayList<>(List.of("x", "s"));
                                    if (bias) {
                                        ins.add("b");
                                    }
                                    List<String> outs = outputs ? List.of("y", "mean", "inv") : List.of("y");
                                    // ORT's CPU LayerNormalization takes double X only with float statistics
                                    // (stash_type 1)
                                    g.node("LayerNormalization", ins, outs)
                                            .attr("axis", axis)
                                            .attr("epsilon", (float) EPS);
                                    return g.op("Mul", "y", "y");
                                })
                                .check();
                    }
                }
            }
        }
    }

    @Test
    void simplifiedLayerNormalization() {
        // ORT's CPU SimplifiedLayerNormalization has no double kernel (the standard-op path is covered by
        // RMSNormalization-23 in double)
        for (DataType type : List.of(FLOAT)) {
            for (String domain : List.of("")) {
                for (boolean output : List.of(true, false)) {
                    if (domain.equals(OnnxModel.MICROSOFT) && type == DOUBLE) {
                        continue;
                    }
                    GradCheck.of("SimplifiedLN")
                            .type(type)
                            .input("x", 2, 3, 4)
                            .input("s", 4)
                            .forward((g, t) -> {
                                g.node(
                                                domain,
                                                "SimplifiedLayerNormalization",
                                                List.of("x", "s"),
                                                output ? List.of("y", "r") : List.of("y"))
                                        .attr("axis", -1L)
                                        .attr("epsilon", (float) EPS);
                                return g.op("Mul", "y", "y");
                            })
                            .check();
                }
            }
        }
    }

    @Test
    void rmsNormalization23() {
        for (DataType type : List.of(FLOAT, DOUBLE)) {
            for (Shapes s : List.of(Shapes.STATIC, Shapes.UNKNOWN_DIMS)) {
                GradCheck.of("RMSNormalization")
                        .opset(23)
                        .type(type)
                        .shapes(s)
                        .input("x", 2, 3, 4)
                        .input("s", 4)
                        .forward((g, t) -> {
                            g.node("RMSNormalization", List.of("x", "s"), List.of("y"))
                                    .attr("epsilon", (float) EPS);
                            return g.op("Mul", "y", "y");
                        })
                        .check();
            }
        }
    }
}
