package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The op registry: one spec per op queried by the engine, shape inference and errors; custom rules and ops. */
class OpRegistryTest {
    private static final Autodiff DEFAULT = Autodiff.withDefaultRules();

    /** x [2,3] → acme:Scale → y; loss = ReduceSum(y * b), b [3]. */
    private static Graph scaledProduct() {
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, 2, 3)
                .input("b", FLOAT, 3)
                .output("loss", FLOAT);
        b.node(Node.of("Scale", List.of("x"), List.of("y")).domain("acme").name("scale"));
        b.node("Mul", List.of("y", "b"), List.of("yb"));
        b.node("ReduceSum", List.of("yb"), List.of("loss")).attr("keepdims", 0L);
        return b.graph();
    }

    private static GradientRule timesThree() {
        return ctx -> ctx.addInputGradient(0, ctx.op("Mul", ctx.outputGradient(0), ctx.scalarLike(3.0, ctx.input(0))));
    }

    private static boolean hasOp(Graph g, String op) {
        return g.nodes().stream().anyMatch(n -> n.opType().equals(op));
    }

    @Test
    void aCustomOpsShapeFunctionIsUsedByTheEngine() {
        // a rule alone: y's shape is unknown, so dL/db needs the run-time broadcast reduction
        Graph ruleOnly = scaledProduct();
        DEFAULT.withRule("acme", "Scale", timesThree())
                .differentiate(ruleOnly, 17, GradientRequest.ofScalarLoss("loss", List.of("x", "b")));
        assertTrue(hasOp(ruleOnly, "BroadcastGradientArgs"), GradCheck.dump(ruleOnly));
        // the same op registered with its shape function: the reduction axes are known statically
        Graph withSpec = scaledProduct();
        Autodiff custom = DEFAULT.withOp(
                OpSpec.of("acme:Scale").shape(ShapeFunctions.SAME).gradient(timesThree()));
        GradientResult r = custom.differentiate(withSpec, 17, GradientRequest.ofScalarLoss("loss", List.of("x", "b")));
        assertFalse(hasOp(withSpec, "BroadcastGradientArgs"), GradCheck.dump(withSpec));
        assertEquals(Map.of("x", "x_grad", "b", "b_grad"), r.gradients());
        assertTrue(custom.supportedOps().contains("acme:Scale"));
        assertTrue(custom.spec("acme", "Scale").orElseThrow().hasGradient());
        assertTrue(DEFAULT.spec("acme", "Scale").isEmpty());
    }

    @Test
    void aCustomRuleForAnOnnxOpRunsInOnnxRuntime() {
        // Softplus is known (its shape), but has no built-in rule: dX = dY * sigmoid(X)
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 4).output("loss", FLOAT);
        b.node("Softplus", List.of("x"), List.of("s"));
        b.node("ReduceSum", List.of("s"), List.of("loss")).attr("keepdims", 0L);
        Graph g = b.graph();
        assertThrows(
                UnsupportedOpException.class,
                () -> DEFAULT.differentiate(
                        Graph.fromProto(g.toProto()), 17, GradientRequest.ofScalarLoss("loss", List.of("x"))));
        Autodiff custom = DEFAULT.withRule(
                "",
                "Softplus",
                ctx -> ctx.addInputGradient(0, ctx.op("Mul", ctx.outputGradient(0), ctx.op("Sigmoid", ctx.input(0)))));
        assertEquals(
                ShapeFunctions.SAME, custom.spec("", "Softplus").orElseThrow().shape(), "the shape function is kept");
        GradientResult r = custom.differentiate(g, 17, GradientRequest.ofScalarLoss("loss", List.of("x")));
        float[] x = {-2, -0.5f, 0, 3};
        float[] dx =
                EngineTest.run(g, 17, Map.of("x", x), r.gradients().values()).get(r.gradientOf("x"));
        float[] expected = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            expected[i] = (float) (1 / (1 + Math.exp(-x[i])));
        }
        assertArrayEquals(expected, dx, 1e-6f);
    }

    @Test
    void aCustomRuleKeepsTheOpsNonDifferentiableInputs() {
        // Gather's indices never carry gradient, whatever a replacement rule says
        Autodiff custom = DEFAULT.withRule("", "Gather", ctx -> {});
        Node gather = Node.of("Gather", List.of("data", "idx"), List.of("out"));
        OpSpec spec = custom.spec("", "Gather").orElseThrow();
        assertTrue(spec.differentiable(gather, 0));
        assertFalse(spec.differentiable(gather, 1));
        assertEquals(MovementShapes.GATHER, spec.shape());
    }

    @Test
    void unsupportedOpErrorsListTheRegistrysOps() {
        UnsupportedOpException e = assertThrows(
                UnsupportedOpException.class,
                () -> DEFAULT.differentiate(scaledProduct(), 17, GradientRequest.ofScalarLoss("loss", List.of("x"))));
        assertEquals(List.copyOf(DEFAULT.supportedOps()), e.supportedOps());
        assertFalse(e.supportedOps().contains("Shape"), "ops without a rule are not listed");
        // a rule refusing a form names the ops of the registry it runs in (here with a custom rule added)
        Autodiff custom = DEFAULT.withRule("acme", "Frobnicate", ctx -> {});
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, "n", 2)
                .input("z", FLOAT, 1, 2)
                .output("y", FLOAT);
        b.node(Node.of("Concat", List.of("x", "z"), List.of("c")).name("cat")).attr("axis", 0L);
        b.node("ReduceSum", List.of("c"), List.of("y")).attr("keepdims", 0L).attrInts("axes", 0, 1);
        UnsupportedOpException c = assertThrows(
                UnsupportedOpException.class,
                () -> custom.differentiate(b.graph(), 12, GradientRequest.ofScalarLoss("y", List.of("x"))));
        assertEquals("Concat", c.opType());
        assertEquals("cat", c.nodeName());
        assertTrue(c.getMessage().contains("before opset 13"), c.getMessage());
        assertTrue(
                c.supportedOps().contains("acme:Frobnicate"), c.supportedOps().toString());
        assertEquals(List.copyOf(custom.supportedOps()), c.supportedOps());
    }

    @Test
    void inferenceErrorsNameTheNodeOpAndInput() {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 2, 3).output("y", FLOAT);
        b.node(Node.of("Transpose", List.of("x"), List.of("t")).name("bad_perm"))
                .attrInts("perm", 1, 0, 2);
        b.node("ReduceSum", List.of("t"), List.of("y")).attr("keepdims", 0L);
        ShapeInferenceException e = assertThrows(
                ShapeInferenceException.class,
                () -> DEFAULT.differentiate(b.graph(), 17, GradientRequest.ofScalarLoss("y", List.of("x"))));
        assertEquals("bad_perm", e.nodeName());
        assertEquals("Transpose", e.opType());
        assertTrue(e.input().contains("'x'") && e.input().contains("[2, 3]"), e.input());
        assertTrue(e.getMessage().contains("perm"), e.getMessage());
        // an error inside a shape function (an axis out of range) is reported the same way, with its cause
        GraphBuilder c = GraphBuilder.create("g").input("x", FLOAT, 2, 3).output("y", FLOAT);
        c.initializer(Tensors.ofLongs("idx", new long[] {0}, 1));
        c.node(Node.of("Gather", List.of("x", "idx"), List.of("gx")).name("bad_axis"))
                .attr("axis", 5L);
        c.node("ReduceSum", List.of("gx"), List.of("y")).attr("keepdims", 0L);
        ShapeInferenceException g = assertThrows(
                ShapeInferenceException.class,
                () -> DEFAULT.differentiate(c.graph(), 17, GradientRequest.ofScalarLoss("y", List.of("x"))));
        assertEquals("bad_axis", g.nodeName());
        assertTrue(g.getMessage().contains("axis 5"), g.getMessage());
        assertTrue(g.input().contains("'x' [2, 3]") && g.input().contains("'idx' [1]"), g.input());
    }

    @Test
    void stopEdgesComeFromTheSpecs() {
        assertFalse(Autodiff.carriesGradient(Node.of("Gather", List.of("E", "ids"), List.of("h")), 1));
        assertTrue(Autodiff.carriesGradient(Node.of("Gather", List.of("E", "ids"), List.of("h")), 0));
        assertFalse(Autodiff.carriesGradient(Node.of("Shape", List.of("x"), List.of("s")), 0));
        assertFalse(Autodiff.carriesGradient(Node.of("Where", List.of("c", "a", "b"), List.of("w")), 0));
        assertTrue(Autodiff.carriesGradient(Node.of("Where", List.of("c", "a", "b"), List.of("w")), 2));
        assertFalse(Autodiff.carriesGradient(
                Node.of("Cast", List.of("x"), List.of("i")).attr("to", (long) INT64.getNumber()), 0));
        assertTrue(Autodiff.carriesGradient(
                Node.of("Cast", List.of("x"), List.of("h")).attr("to", (long) FLOAT.getNumber()), 0));
        assertFalse(Autodiff.carriesGradient(
                Node.of("BroadcastGradientArgs", List.of("a", "b"), List.of("r"))
                        .domain(OnnxModel.MICROSOFT),
                0));
        assertTrue(
                Autodiff.carriesGradient(Node.of("Hardmax", List.of("x"), List.of("h")), 0),
                "an unknown op is on the path (and then reported unsupported)");
    }

    @Test
    void eachOpIsRegisteredOnce() {
        OpRegistry.Builder b = OpRegistry.builder().add(OpSpec.of("Foo"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.add(OpSpec.of("Foo")));
        assertTrue(e.getMessage().contains("Foo"), e.getMessage());
        assertEquals(
                "com.microsoft:FusedMatMul",
                OpSpec.of("com.microsoft:FusedMatMul").key());
        assertEquals("Add", OpSpec.of("ai.onnx", "Add").key());
        for (String op : DEFAULT.supportedOps()) {
            int colon = op.lastIndexOf(':');
            OpSpec s = colon < 0
                    ? DEFAULT.spec("", op).orElseThrow()
                    : DEFAULT.spec(op.substring(0, colon), op.substring(colon + 1))
                            .orElseThrow();
            assertTrue(s.shape() != ShapeFunction.UNKNOWN, op + " has a rule but no shape function");
        }
    }
}
