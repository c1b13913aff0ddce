package dev.rectify.autodiff;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OpOutputs;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** Shape and type inference through the registry's shape functions, and the typed Shape/Dim values. */
class ShapeInferenceTest {
    private static TensorInfo infer(GraphBuilder b, int opset) {
        Graph g = b.graph();
        return TensorInfo.infer(g, g.topologicalOrder(), opset, registry());
    }

    private static OpRegistry registry() {
        return Autodiff.withDefaultRules().registry();
    }

    private static String shape(TensorInfo info, String t) {
        return info.shape(t).map(Shape::toString).orElse("unknown rank");
    }

    @Test
    void broadcastingKeepsSymbolicNamesAndNumbers() {
        Shape a = Shape.of(Dim.symbolic("B"), Dim.of(1), Dim.of(4));
        Shape b = Shape.of(Dim.of(3), Dim.of(1));
        assertEquals("[B, 3, 4]", Shape.broadcast(List.of(a, b)).toString());
        assertEquals(
                "[?]",
                Shape.broadcast(List.of(Shape.of(Dim.symbolic("B")), Shape.of(Dim.symbolic("S"))))
                        .toString(),
                "two different names decide nothing");
        assertEquals(
                "[?, 4]",
                Shape.broadcast(List.of(Shape.of(Dim.unknown(), Dim.of(1)), Shape.of(4)))
                        .toString());
        assertEquals(Optional.empty(), a.sizes());
        assertEquals(2, Shape.of(2, 3).with(-1, Dim.of(3)).axis(-1) + 1);
        assertThrows(RuntimeException.class, () -> Shape.of(2, 3).axis(2));
        assertTrue(Dim.symbolic("B").provablyEquals(Dim.symbolic("B")));
        assertTrue(!Dim.unknown().provablyEquals(Dim.unknown()));
    }

    @Test
    void movementOpsFollowTheirConstants() {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, "B", 6, 4);
        b.initializer(Tensors.ofLongs("shp", new long[] {0, -1, 2}, 3));
        b.node("Reshape", List.of("x", "shp"), List.of("r"));
        b.initializer(Tensors.ofLongs("st", new long[] {5}, 1));
        b.initializer(Tensors.ofLongs("en", new long[] {0}, 1));
        b.initializer(Tensors.ofLongs("ax", new long[] {1}, 1));
        b.initializer(Tensors.ofLongs("step", new long[] {-2}, 1));
        b.node("Slice", List.of("x", "st", "en", "ax", "step"), List.of("sl"));
        b.node("Split", List.of("x"), List.of("p0", "p1", "p2"))
                .attr("axis", 1L)
                .attr("num_outputs", 3L);
        b.node("Unsqueeze", List.of("x", "ax"), List.of("u"));
        b.node("Transpose", List.of("u"), List.of("t")).attrInts("perm", 3, 1, 0, 2);
        b.node("Concat", List.of("x", "x"), List.of("c")).attr("axis", -1L);
        b.node("ReduceMean", List.of("x", "ax"), List.of("m")).attr("keepdims", 0L);
        b.initializer(Tensors.ofLongs("idx", new long[] {0, 1, 1}, 3));
        b.node("Gather", List.of("x", "idx"), List.of("gx")).attr("axis", 2L);
        b.node("Shape", List.of("x"), List.of("s"));
        b.node("Equal", List.of("x", "c"), List.of("eq"));
        TensorInfo info = infer(b, 18);
        assertEquals("[B, 12, 2]", shape(info, "r"), "0 copies B, which then cancels out of -1");
        assertEquals("[B, 3, 4]", shape(info, "sl"), "indices 5, 3, 1");
        assertEquals("[B, 2, 4]", shape(info, "p2"));
        assertEquals("[B, 1, 6, 4]", shape(info, "u"));
        assertEquals("[4, 1, B, 6]", shape(info, "t"));
        assertEquals("[B, 6, 8]", shape(info, "c"));
        assertEquals("[B, 4]", shape(info, "m"));
        assertEquals("[B, 6, 3]", shape(info, "gx"));
        assertEquals("[3]", shape(info, "s"));
        assertEquals(INT64.getNumber(), info.type("s"));
        assertEquals(DataType.BOOL.getNumber(), info.type("eq"));
        assertEquals(FLOAT.getNumber(), info.type("p1"));
    }

    @Test
    void reshapeWithKnownDimsSolvesMinusOne() {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 2, 6, 4);
        b.initializer(Tensors.ofLongs("shp", new long[] {0, -1, 2}, 3));
        b.node("Reshape", List.of("x", "shp"), List.of("r"));
        b.input("v", FLOAT, 3);
        b.node("MatMul", List.of("x", "v"), List.of("xv"));
        TensorInfo info = infer(b, 17);
        assertEquals("[2, 12, 2]", shape(info, "r"));
        assertEquals("[2, 6]", shape(info, "xv"), "MatMul by a vector drops the last axis");
    }

    @Test
    void shapeArithmeticKeepsSymbolicDims() {
        // how torch.onnx writes an attention head split and a grouped-query repeat: targets computed from shapes
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, "batch", "seq", 512);
        b.initializer(Tensors.ofLongs("zero", new long[] {0}));
        b.initializer(Tensors.ofLongs("one", new long[] {1}));
        b.initializer(Tensors.ofLongs("axis0", new long[] {0}, 1));
        b.initializer(Tensors.ofLongs("tail", new long[] {-1, 64}, 2));
        b.node("Shape", List.of("x"), List.of("sx"));
        b.node("Gather", List.of("sx", "zero"), List.of("b0")).attr("axis", 0L);
        b.node("Gather", List.of("sx", "one"), List.of("s0")).attr("axis", 0L);
        b.node("Unsqueeze", List.of("b0", "axis0"), List.of("b1"));
        b.node("Unsqueeze", List.of("s0", "axis0"), List.of("s1"));
        b.node("Concat", List.of("b1", "s1", "tail"), List.of("target")).attr("axis", 0L);
        b.node("Reshape", List.of("x", "target"), List.of("heads"));
        // Expand(u, Where(Equal(t, -1), ConstantOfShape(Shape(t)) (ones), t)) with t = [-1, -1, 2, -1, -1]
        b.input("u", FLOAT, "batch", 4, 1, "seq", 64);
        b.initializer(Tensors.ofLongs("t", new long[] {-1, -1, 2, -1, -1}, 5));
        b.initializer(Tensors.ofLongs("minus", new long[] {-1}));
        b.node("Shape", List.of("t"), List.of("st"));
        b.node("ConstantOfShape", List.of("st"), List.of("ones"))
                .attr("value", Tensors.ofLongs(null, new long[] {1}, 1));
        b.node("Mul", List.of("ones", "minus"), List.of("minusOnes"));
        b.node("Equal", List.of("t", "minusOnes"), List.of("isMinus"));
        b.node("Where", List.of("isMinus", "ones", "t"), List.of("expandTo"));
        b.node("Expand", List.of("u", "expandTo"), List.of("repeated"));
        // Shape(x)[1:] and integer arithmetic on a known dim
        b.initializer(Tensors.ofLongs("two", new long[] {2}));
        b.initializer(Tensors.ofLongs("from1", new long[] {1}, 1));
        b.initializer(Tensors.ofLongs("toEnd", new long[] {Long.MAX_VALUE}, 1));
        b.node("Slice", List.of("sx", "from1", "toEnd"), List.of("rest"));
        b.node("Gather", List.of("sx", "two"), List.of("width")).attr("axis", 0L);
        b.node("Div", List.of("width", "two"), List.of("half"));
        b.node("Unsqueeze", List.of("half", "axis0"), List.of("halfEnd"));
        b.node("Slice", List.of("x", "zero3", "halfEnd", "axis2"), List.of("firstHalf"));
        b.initializer(Tensors.ofLongs("zero3", new long[] {0}, 1));
        b.initializer(Tensors.ofLongs("axis2", new long[] {2}, 1));
        TensorInfo info = infer(b, 17);
        assertEquals("[batch, seq, 8, 64]", shape(info, "heads"), "-1 solved: batch and seq cancel out");
        assertEquals("[batch, 4, 2, seq, 64]", shape(info, "repeated"));
        assertEquals(
                "[seq, 512]",
                info.value("rest").map(DimValues::toDims).orElseThrow().toString());
        assertEquals("[batch, seq, 256]", shape(info, "firstHalf"), "Shape(x)[2] / 2 is the number 256");
    }

    @Test
    void shapeArithmeticLetsGradientsReduceStatically() {
        // the gradient of an Add after a computed-target Reshape needs no run-time broadcast reduction
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, "batch", "seq", 8);
        b.input("w", FLOAT, 8);
        b.initializer(Tensors.ofLongs("zero", new long[] {0}));
        b.initializer(Tensors.ofLongs("axis0", new long[] {0}, 1));
        b.initializer(Tensors.ofLongs("tail", new long[] {-1, 8}, 2));
        b.node("Shape", List.of("x"), List.of("sx"));
        b.node("Gather", List.of("sx", "zero"), List.of("b0")).attr("axis", 0L);
        b.node("Unsqueeze", List.of("b0", "axis0"), List.of("b1"));
        b.node("Concat", List.of("b1", "tail"), List.of("target")).attr("axis", 0L);
        b.node("Mul", List.of("x", "w"), List.of("xw"));
        b.node("Reshape", List.of("xw", "target"), List.of("r"));
        b.node("Reshape", List.of("x", "target"), List.of("rx"));
        b.node("Add", List.of("r", "rx"), List.of("y"));
        b.node("ReduceSum", List.of("y"), List.of("loss")).attr("keepdims", 0L);
        b.output("loss", FLOAT);
        Graph g = b.graph();
        Autodiff.withDefaultRules().differentiate(g, 17, GradientRequest.ofScalarLoss("loss", List.of("w")));
        long dynamic = g.nodes().stream()
                .filter(n -> n.opType().equals("BroadcastGradientArgs"))
                .count();
        assertEquals(0, dynamic, "Add and Mul reduce by axes known here (Mul over batch and seq for w)");
    }

    @Test
    void anOpWithoutASpecLeavesItsOutputsExplicitlyUnknown() {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 2, 3);
        b.node(Node.of("Mystery", List.of("x"), List.of("y")).domain("acme"));
        b.node("Relu", List.of("y"), List.of("z"));
        TensorInfo info = infer(b, 17);
        assertEquals(0, info.type("y"));
        assertEquals(-1, info.rank("y"));
        assertEquals(Optional.empty(), info.shape("z"), "unknown propagates instead of failing");
    }

    @Test
    void contradictionsAreErrorsNotUnknowns() {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 6, 4);
        b.initializer(Tensors.ofLongs("sizes", new long[] {2, 2}, 2));
        b.node(Node.of("Split", List.of("x", "sizes"), List.of("a", "b", "c")).name("split3"));
        ShapeInferenceException e = assertThrows(ShapeInferenceException.class, () -> infer(b, 18));
        assertEquals("split3", e.nodeName());
        assertTrue(e.input().contains("'sizes'"), e.input());
        assertTrue(e.getMessage().contains("2 sizes for 3 outputs"), e.getMessage());
    }

    @Test
    void aConstantsValueBeatsAWrongDeclaration() {
        // exporters can declare a 1-D Constant a scalar; ONNX Runtime ignores value_info, so must inference
        GraphBuilder b = GraphBuilder.create("g").input("x", INT64, 3).valueInfo("one", INT64);
        b.node("Constant", List.of(), List.of("one")).attr("value", Tensors.ofLongs(null, new long[] {1}, 1));
        b.node("Concat", List.of("x", "one"), List.of("c")).attr("axis", 0L);
        TensorInfo info = infer(b, 17);
        assertEquals("[1]", shape(info, "one"));
        assertEquals("[4]", shape(info, "c"));
    }

    @Test
    void opRecordsAgreeWithTheSharedOutputTable() {
        // canon walks graphs with OpOutputs; the autodiff's own records must infer the same types and ranks
        Set<String> unary = new TreeSet<>(OpOutputs.SAME_RANK);
        unary.addAll(OpOutputs.BOOL_ELEMENTWISE);
        unary.removeAll(Set.of("Cast", "CastLike", "Slice", "Tile", "Expand")); // need more than one input
        Set<String> binary = new TreeSet<>(OpOutputs.BROADCAST);
        binary.addAll(OpOutputs.BOOL_BROADCAST);
        binary.remove("Where");
        int checked = 0;
        for (String op : unary) {
            checked += agree(op, List.of("x"));
        }
        for (String op : binary) {
            checked += agree(op, List.of("x", "y"));
        }
        assertTrue(checked >= 30, "only " + checked + " ops compared");
    }

    /** 1 when autodiff has a spec for {@code op} and it agrees with OpOutputs, 0 when it has none. */
    private static int agree(String op, List<String> inputs) {
        GraphBuilder b = GraphBuilder.create("g").input("x", FLOAT, 2, 3, 4).input("y", FLOAT, 3, 4);
        Node n = b.node(op, inputs, List.of("o"));
        Graph g = b.graph();
        OpRegistry ops = registry();
        if (ops.spec(n).isEmpty()) {
            return 0;
        }
        TensorInfo info = TensorInfo.infer(g, g.topologicalOrder(), 18, ops);
        assertEquals(OpOutputs.elementType(n, info::type), info.type("o"), op + ": element type");
        assertEquals(OpOutputs.rank(n, info::rank, t -> -1), info.rank("o"), op + ": rank");
        return 1;
    }
}
