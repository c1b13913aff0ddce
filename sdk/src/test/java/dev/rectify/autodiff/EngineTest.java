package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.autodiff.GradCheck.Shapes;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Path finding, pruning, accumulation, seeds, naming and errors. */
class EngineTest {
    static Node last(GraphBuilder g) {
        return g.graph().nodes().get(g.graph().nodes().size() - 1);
    }

    /** Embedding + position-dependent scaling + additive causal-style mask, all built from integer arithmetic. */
    @Test
    void integerPositionArithmeticAndMasksArePruned() {
        Graph g = GradCheck.of("Pruning")
                .input("E", 6, 4)
                .forward((b, t) -> {
                    b.initializer(Tensors.ofLongs("ids", new long[] {1, 3, 3, 5}, 1, 4));
                    String shape = b.op("Shape", "ids");
                    String len = b.op("Gather", shape, b.constant(Tensors.scalar("one_idx", 1L)));
                    String pos = b.op(
                            "Range",
                            b.constant(Tensors.scalar("zero", 0L)),
                            len,
                            b.constant(Tensors.scalar("step", 1L)));
                    String posF = b.op("Cast", pos);
                    last(b).attr("to", (long) t.getNumber());
                    String scale = b.op(
                            "Unsqueeze",
                            b.op("Exp", b.op("Neg", posF)),
                            b.constant(Tensors.ofLongs("ax", new long[] {1}, 1)));
                    String keep = b.op("Less", pos, b.constant(Tensors.scalar("three", 3L)));
                    String keep2 = b.op("Unsqueeze", keep, b.constant(Tensors.ofLongs("ax2", new long[] {1}, 1)));
                    b.initializer(GradCheck.constant(t, "zero_f", new double[] {0}));
                    b.initializer(GradCheck.constant(t, "neg_big", new double[] {-100}));
                    String mask = b.op("Where", keep2, "zero_f", "neg_big");
                    String h = b.op("Gather", "E", "ids");
                    return b.op("Add", b.op("Mul", h, scale), mask);
                })
                .check();
        Set<String> emittedFor = g.nodes().stream()
                .map(Node::name)
                .filter(n -> n.contains("_Grad/"))
                .map(n -> n.substring(0, n.indexOf("_Grad/")))
                .collect(Collectors.toSet());
        for (String fwd : emittedFor) {
            assertFalse(
                    fwd.startsWith("Shape")
                            || fwd.startsWith("Range")
                            || fwd.startsWith("Cast")
                            || fwd.startsWith("Less")
                            || fwd.startsWith("Where")
                            || fwd.startsWith("Exp")
                            || fwd.startsWith("Neg")
                            || fwd.startsWith("Unsqueeze"),
                    "backward emitted for " + fwd + ": " + emittedFor);
        }
    }

    /** One weight used by Gather (embedding) and by MatMul through Transpose (LM head): contributions summed. */
    @Test
    void tiedEmbeddingsSumBothContributions() {
        for (Shapes s : List.of(Shapes.STATIC, Shapes.UNKNOWN_DIMS)) {
            Graph g = GradCheck.of("Tied")
                    .shapes(s)
                    .input("E", 5, 4)
                    .input("W", 4, 4)
                    .forward((b, t) -> {
                        b.initializer(Tensors.ofLongs("ids", new long[] {0, 3, 3}, 1, 3));
                        String h = b.op("Tanh", b.op("MatMul", b.op("Gather", "E", "ids"), "W"));
                        String et = b.op("Transpose", "E");
                        last(b).attrInts("perm", 1, 0);
                        return b.op("MatMul", h, et);
                    })
                    .check();
            assertTrue(g.nodes().stream()
                    .anyMatch(n -> n.opType().equals("Sum") && n.output(0).equals("E_grad")));
        }
    }

    @Test
    void unsupportedOpOnThePathIsNamed() {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 2).output("y", FLOAT);
        b.node(Node.of("Hardmax", List.of("x"), List.of("h")).name("the_hardmax"));
        b.node(Node.of("ReduceSum", List.of("h"), List.of("y")).name("sum"));
        Graph g = b.graph();
        int before = g.nodes().size();
        UnsupportedOpException e = assertThrows(
                UnsupportedOpException.class,
                () -> Autodiff.withDefaultRules()
                        .differentiate(g, 17, GradientRequest.ofScalarLoss("y", List.of("x"))));
        assertTrue(e.getMessage().contains("Hardmax"), e.getMessage());
        assertTrue(e.getMessage().contains("the_hardmax"), e.getMessage());
        assertTrue(e.getMessage().contains("MatMul") && e.getMessage().contains("Softmax"), e.getMessage());
        assertEquals("Hardmax", e.opType());
        assertEquals("the_hardmax", e.nodeName());
        assertEquals(before, g.nodes().size(), "graph untouched on failure");
        // a custom-domain op
        GraphBuilder c = GraphBuilder.create("g").input("x", FLOAT, 2).output("y", FLOAT);
        c.node(Node.of("Frobnicate", List.of("x"), List.of("y")).domain("acme").name("f"));
        UnsupportedOpException e2 = assertThrows(
                UnsupportedOpException.class,
                () -> Autodiff.withDefaultRules()
                        .differentiate(c.graph(), 17, GradientRequest.ofScalarLoss("y", List.of("x"))));
        assertTrue(e2.getMessage().contains("acme:Frobnicate"), e2.getMessage());
        // ... which a custom rule makes differentiable
        Autodiff custom = Autodiff.withDefaultRules()
                .withRule("acme", "Frobnicate", ctx -> ctx.addInputGradient(0, ctx.op("Neg", ctx.outputGradient(0))));
        assertTrue(custom.supportedOps().contains("acme:Frobnicate"));
        assertFalse(Autodiff.withDefaultRules().supportedOps().contains("acme:Frobnicate"));
        custom.differentiate(c.graph(), 17, GradientRequest.ofScalarLoss("y", List.of("x")));
    }

    @Test
    void unsupportedOpsOffThePathAreFine() {
        // Hardmax on a frozen input, TopK indices, an unknown op on integers
        GradCheck.of("OffPath")
                .float32()
                .input("x", 2, 3)
                .wrt("x")
                .forward((b, t) -> {
                    b.initializer(GradCheck.constant(t, "frozen", new double[] {1, 2, 3, 4, 5, 6}, 2, 3));
                    String hm = b.op("Hardmax", "frozen");
                    String y = b.op("Mul", "x", hm);
                    String am = b.op("ArgMax", "x");
                    String amf = b.op("Cast", am);
                    last(b).attr("to", (long) t.getNumber());
                    return b.op("Add", y, amf);
                })
                .check();
    }

    @Test
    void stopGradientAndUnreachableWrtGiveZeros() {
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, 2, 3)
                .input("w", FLOAT, 3)
                .input("unused", FLOAT, 4)
                .output("y", FLOAT);
        b.node("Mul", List.of("x", "w"), List.of("xw"));
        b.node("Identity", List.of("xw"), List.of("d")); // detached below
        b.node("Mul", List.of("xw", "d"), List.of("sq"));
        b.node("ReduceSum", List.of("sq"), List.of("y")).attr("keepdims", 0L);
        Graph g = b.graph();
        GradientResult r = Autodiff.withDefaultRules()
                .differentiate(
                        g,
                        17,
                        new GradientRequest(Map.of("y", GradientRequest.ONES), List.of("w", "unused"), Set.of("d")));
        assertEquals(Set.of("w", "unused"), r.gradients().keySet());
        assertEquals("w_grad", r.gradients().get("w"));
        assertEquals("unused_grad", r.gradients().get("unused"));
        float[] x = {1, 2, 3, 4, 5, 6};
        float[] w = {0.5f, -1, 2};
        Map<String, float[]> out = run(
                g,
                17,
                Map.of("x", x, "w", w, "unused", new float[4]),
                r.gradients().values());
        // d/dw sum((x w) * stop(x w)) = sum_rows x * (x w)
        float[] expected = new float[3];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                expected[j] += x[i * 3 + j] * x[i * 3 + j] * w[j];
            }
        }
        assertArrayEquals(expected, out.get("w_grad"), 1e-5f);
        assertArrayEquals(new float[4], out.get("unused_grad"));
    }

    @Test
    void explicitSeedAndNames() {
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, 2)
                .input("w", FLOAT, 2)
                .input("dlogits", FLOAT, 2)
                .output("logits", FLOAT, 2);
        b.node(Node.of("Mul", List.of("x", "w"), List.of("logits")).name("head"));
        Graph g = b.graph();
        GradientResult r = Autodiff.withDefaultRules()
                .differentiate(g, 17, new GradientRequest(Map.of("logits", "dlogits"), List.of("w", "x"), Set.of()));
        Map<String, float[]> out = run(
                g,
                17,
                Map.of("x", new float[] {1, 2}, "w", new float[] {3, 4}, "dlogits", new float[] {10, 100}),
                r.gradients().values());
        assertArrayEquals(new float[] {10, 200}, out.get(r.gradients().get("w")));
        assertArrayEquals(new float[] {30, 400}, out.get(r.gradients().get("x")));
        assertEquals("w_grad", r.gradients().get("w"));
        assertTrue(g.nodes().stream().skip(1).allMatch(n -> n.name().contains("Grad")), GradCheck.dump(g));
        assertThrows(
                InvalidArgumentException.class,
                () -> Autodiff.withDefaultRules()
                        .differentiate(g, 17, GradientRequest.ofScalarLoss("nope", List.of("w"))));
        assertThrows(
                InvalidArgumentException.class,
                () -> Autodiff.withDefaultRules()
                        .differentiate(g, 17, GradientRequest.ofScalarLoss("logits", List.of("nope"))));
    }

    @Test
    void staticShapesUseNoRuntimeBroadcastArgs() {
        Graph st = GradCheck.of("Static")
                .input("a", 2, 3)
                .input("b", 3)
                .forward((b, t) -> b.op("Mul", "a", "b"))
                .check();
        assertFalse(st.nodes().stream().anyMatch(n -> n.opType().equals("BroadcastGradientArgs")), GradCheck.dump(st));
        Graph dyn = GradCheck.of("Dynamic")
                .shapes(Shapes.UNKNOWN_DIMS)
                .input("a", 2, 3)
                .input("b", 3)
                .forward((b, t) -> b.op("Mul", "a", "b"))
                .check();
        assertTrue(dyn.nodes().stream().anyMatch(n -> n.opType().equals("BroadcastGradientArgs")), GradCheck.dump(dyn));
        // symbolic dims with the same name prove equality
        GraphBuilder b = GraphBuilder.create("g")
                .input("a", FLOAT, "B", "S", 4)
                .input("bias", FLOAT, 4)
                .output("y", FLOAT);
        b.node("Add", List.of("a", "bias"), List.of("s"));
        b.node("Mul", List.of("s", "a"), List.of("m"));
        b.node("ReduceSum", List.of("m"), List.of("y")).attr("keepdims", 0L);
        Graph g = b.graph();
        Autodiff.withDefaultRules().differentiate(g, 17, GradientRequest.ofScalarLoss("y", List.of("a", "bias")));
        assertFalse(g.nodes().stream().anyMatch(n -> n.opType().equals("BroadcastGradientArgs")), GradCheck.dump(g));
    }

    @Test
    void guessesOpsetFromNodeForms() {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 2, 3);
        b.node("ReduceSum", List.of("x"), List.of("y")).attrInts("axes", 1);
        assertEquals(12, Autodiff.guessOpset(b.graph()));
        GraphBuilder c = GraphBuilder.create("g").input("x", FLOAT, 2, 3).input("axes", INT64, 1);
        c.node("ReduceMean", List.of("x", "axes"), List.of("y"));
        assertEquals(18, Autodiff.guessOpset(c.graph()));
        assertEquals(17, Autodiff.guessOpset(GraphBuilder.create("e").graph()));
    }

    static Map<String, float[]> run(Graph g, int opset, Map<String, float[]> feeds, Collection<String> outs) {
        Graph copy = Graph.fromProto(g.toProto());
        for (String o : outs) {
            copy.addOutput(Builders.tensorAnyShape(o, FLOAT));
        }
        byte[] bytes = ModelBuilder.create()
                .opset("", opset)
                .opset(OnnxModel.MICROSOFT, 1)
                .graph(copy)
                .build()
                .toBytes();
        Map<String, Tensor> in = new LinkedHashMap<>();
        feeds.forEach((k, v) -> in.put(
                k,
                Tensor.ofFloats(
                        v,
                        copy.input(k).orElseThrow().getType().getTensorType().getShape().getDimList().stream()
                                .mapToLong(d -> d.getDimValue())
                                .toArray())));
        try (InferenceSession s = InferenceSession.fromBytes(bytes, "g", GradCheck.CONFIG);
                Outputs o = s.run(in, List.copyOf(outs))) {
            Map<String, float[]> r = new HashMap<>();
            for (String n : outs) {
                r.put(n, o.get(n).toFloats());
            }
            return r;
        } finally {
            in.values().forEach(Tensor::close);
        }
    }
}
