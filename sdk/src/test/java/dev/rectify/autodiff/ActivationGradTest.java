package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.DOUBLE;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Softmax, LogSoftmax (both opset semantics), GELU variants and Dropout. */
class ActivationGradTest {
    static Stream<Arguments> softmax() {
        List<Arguments> out = new ArrayList<>();
        for (String op : List.of("Softmax", "LogSoftmax")) {
            for (int opset : new int[] {11, 17}) {
                for (DataType t : List.of(FLOAT, DOUBLE)) {
                    for (Long axis : new Long[] {null, 0L, 1L, -1L}) {
                        out.add(Arguments.of(op, opset, t, axis));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} opset {1} {2} axis {3}")
    @MethodSource("softmax")
    void softmaxFamily(String op, int opset, DataType type, Long axis) {
        GradCheck.of(op)
                .opset(opset)
                .type(type)
                .input("x", 2, 3, 4)
                .forward((g, t) -> {
                    String y = g.op(op, "x");
                    if (axis != null) {
                        last(g).attr("axis", axis);
                    }
                    return y;
                })
                .check();
    }

    static Node last(GraphBuilder g) {
        return g.graph().nodes().get(g.graph().nodes().size() - 1);
    }

    @Test
    void gelus() {
        GradCheck.of("msGelu")
                .float32()
                .input("x", 2, 3)
                .forward((g, t) -> {
                    String y = g.uniqueName("y");
                    g.node(OnnxModel.MICROSOFT, "Gelu", List.of("x"), List.of(y));
                    return y;
                })
                .check();
        for (DataType type : List.of(FLOAT, DOUBLE)) {
            GradCheck.of("msFastGelu")
                    .type(type)
                    .input("x", 2, 3)
                    .input("b", 3)
                    .forward((g, t) -> {
                        String y = g.uniqueName("y");
                        g.node(OnnxModel.MICROSOFT, "FastGelu", List.of("x", "b"), List.of(y));
                        return y;
                    })
                    .check();
        }
        for (String approx : List.of("none", "tanh")) {
            GradCheck.of("Gelu20-" + approx)
                    .opset(20)
                    .float32()
                    .input("x", 2, 3)
                    .forward((g, t) -> {
                        String y = g.op("Gelu", "x");
                        last(g).attr("approximate", approx);
                        return y;
                    })
                    .check();
        }
    }

    @Test
    void dropoutPassesThroughWhenNotTraining() {
        // no training_mode input; a constant false one; training with ratio 0
        GradCheck.of("DropoutInference")
                .input("x", 2, 3)
                .forward((g, t) -> g.op("Dropout", "x"))
                .check();
        GradCheck.of("DropoutFalse")
                .input("x", 2, 3)
                .forward((g, t) -> {
                    g.initializer(GradCheck.constant(t, "r", new double[] {0.5}));
                    g.initializer(Tensors.ofBooleans("tm", new boolean[] {false}));
                    return g.op("Dropout", "x", "r", "tm");
                })
                .check();
        GradCheck.of("DropoutRatio0")
                .input("x", 2, 3)
                .forward((g, t) -> {
                    g.initializer(GradCheck.constant(t, "r", new double[] {0}));
                    g.initializer(Tensors.ofBooleans("tm", new boolean[] {true}));
                    return g.op("Dropout", "x", "r", "tm");
                })
                .check();
        GradCheck.of("Dropout10")
                .opset(10)
                .float32()
                .input("x", 2, 3)
                .forward((g, t) -> g.op("Dropout", "x"))
                .check();
    }

    /** Training-mode dropout: random, so checked against mask ⊙ dY / (1 − ratio), constant and run-time mode. */
    @Test
    void dropoutTrainingUsesTheMask() {
        for (boolean dynamicMode : List.of(false, true)) {
            GraphBuilder g =
                    GraphBuilder.create("drop").input("x", FLOAT, 4, 50).input("dy", FLOAT, 4, 50);
            g.initializer(Tensors.ofFloats("r", new float[] {0.25f}));
            if (dynamicMode) {
                g.input("tm", DataType.BOOL);
            } else {
                g.initializer(Tensors.ofBooleans("tm", new boolean[] {true}));
            }
            g.node("Dropout", List.of("x", "r", "tm"), List.of("y"));
            Graph graph = g.graph();
            GradientResult r = Autodiff.withDefaultRules()
                    .differentiate(graph, 17, new GradientRequest(Map.of("y", "dy"), List.of("x"), Set.of()));
            String mask = graph.nodes().get(0).output(1);
            graph.addOutput(Builders.tensorAnyShape(r.gradients().get("x"), FLOAT));
            graph.addOutput(Builders.tensorAnyShape(mask, DataType.BOOL));
            byte[] bytes = ModelBuilder.create()
                    .opset("", 17)
                    .opset(OnnxModel.MICROSOFT, 1)
                    .graph(graph)
                    .build()
                    .toBytes();
            float[] x = new float[200];
            float[] dy = new float[200];
            for (int i = 0; i < 200; i++) {
                x[i] = i;
                dy[i] = 1 + i % 7;
            }
            for (boolean mode : dynamicMode ? List.of(true, false) : List.of(true)) {
                try (InferenceSession s = InferenceSession.fromBytes(bytes, "drop", GradCheck.CONFIG);
                        Tensor tx = Tensor.ofFloats(x, 4, 50);
                        Tensor tdy = Tensor.ofFloats(dy, 4, 50);
                        Tensor tm = Tensor.ofBooleans(new boolean[] {mode})) {
                    Map<String, Tensor> feeds =
                            dynamicMode ? Map.of("x", tx, "dy", tdy, "tm", tm) : Map.of("x", tx, "dy", tdy);
                    try (Outputs o = s.run(feeds, List.of(r.gradients().get("x"), mask))) {
                        float[] dx = o.get(r.gradients().get("x")).toFloats();
                        boolean[] m = o.get(mask).toBooleans();
                        float[] expected = new float[200];
                        int kept = 0;
                        for (int i = 0; i < 200; i++) {
                            expected[i] = !mode ? dy[i] : m[i] ? dy[i] / 0.75f : 0f;
                            kept += m[i] ? 1 : 0;
                        }
                        assertArrayEquals(expected, dx, 1e-5f);
                        assertTrue(!mode || kept < 200, "some elements dropped");
                    }
                }
            }
        }
    }
}
