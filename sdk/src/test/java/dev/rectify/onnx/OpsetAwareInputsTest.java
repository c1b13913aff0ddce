package dev.rectify.onnx;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpsetAwareInputsTest {

    @Test
    void squeezeAxesAttributeAtOpset11() {
        Graph g = Graph.empty("g");
        Node sq = g.addNode(Node.of("Squeeze", List.of("x"), List.of("y")).attrInts("axes", 0, 2));
        ResolvedInput axes = new OpsetAwareInputs(g, 11).axes(sq);
        assertTrue(axes.isConstant() && axes.fromAttribute());
        assertArrayEquals(new long[] {0, 2}, axes.longs());
        // At 13 the attribute no longer counts: no axes input means "all size-1 axes".
        assertTrue(new OpsetAwareInputs(g, 13).axes(sq).isAbsent());
    }

    @Test
    void squeezeAxesInputAtOpset13() {
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, 1, 3, 1)
                .input("dyn_axes", INT64, 1)
                .initializer(Tensors.ofLongs("axes_init", new long[] {0, -1}, 2));
        String constAxes = b.constant(Tensors.ofLongs("", new long[] {2}, 1));
        Node fromInit = b.node("Squeeze", List.of("x", "axes_init"), List.of("y1"));
        Node fromConst = b.node("Squeeze", List.of("x", constAxes), List.of("y2"));
        Node dynamic = b.node("Unsqueeze", List.of("x", "dyn_axes"), List.of("y3"));
        OpsetAwareInputs in =
                OpsetAwareInputs.of(ModelBuilder.create().opset("", 13).graph(b).build());
        OpsetAwareInputs here = new OpsetAwareInputs(b.graph(), 13);

        assertEquals(13, in.opset());
        assertArrayEquals(new long[] {0, -1}, here.axes(fromInit).longs());
        assertEquals("axes_init", here.axes(fromInit).tensorName().orElseThrow());
        assertArrayEquals(new long[] {2}, here.axes(fromConst).longs());
        ResolvedInput d = here.axes(dynamic);
        assertTrue(d.isDynamic());
        assertEquals("dyn_axes", d.tensorName().orElseThrow());
        assertThrows(InvalidGraphException.class, d::longs);
    }

    @Test
    void initializerThatIsAlsoAnInputIsDynamic() {
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, 1, 3)
                .input("ax", INT64, 1)
                .initializer(Tensors.ofLongs("ax", new long[] {0}, 1));
        Node sq = b.node("Squeeze", List.of("x", "ax"), List.of("y"));
        assertTrue(new OpsetAwareInputs(b.graph(), 13).axes(sq).isDynamic());
    }

    @Test
    void reduceMeanAt17And18() {
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, "b", 4)
                .initializer(Tensors.ofLongs("ax", new long[] {1}, 1));
        Node old = b.node("ReduceMean", List.of("x"), List.of("m17"))
                .attrInts("axes", -1)
                .attr("keepdims", 0L);
        Node neu = b.node("ReduceMean", List.of("x", "ax"), List.of("m18"));
        assertArrayEquals(
                new long[] {-1}, new OpsetAwareInputs(b.graph(), 17).axes(old).longs());
        assertTrue(new OpsetAwareInputs(b.graph(), 17).axes(neu).isAbsent(), "opset 17 ignores the input");
        assertArrayEquals(
                new long[] {1}, new OpsetAwareInputs(b.graph(), 18).axes(neu).longs());
        assertTrue(new OpsetAwareInputs(b.graph(), 18).axes(old).isAbsent());
        // ReduceSum moved earlier, at 13.
        Node sum = b.node("ReduceSum", List.of("x", "ax"), List.of("s"));
        assertArrayEquals(
                new long[] {1}, new OpsetAwareInputs(b.graph(), 13).axes(sum).longs());
    }

    @Test
    void otherOps() {
        GraphBuilder b = GraphBuilder.create("g")
                .input("x", FLOAT, 6)
                .initializer(Tensors.ofLongs("sizes", new long[] {2, 4}, 2))
                .initializer(Tensors.scalar("lo", -1f))
                .initializer(Tensors.ofLongs("starts", new long[] {1}, 1))
                .initializer(Tensors.ofLongs("ends", new long[] {5}, 1));
        Node split = b.node("Split", List.of("x", "sizes"), List.of("p", "q"))
                .attrInts("split", 3, 3)
                .attr("num_outputs", 2L);
        OpsetAwareInputs o11 = new OpsetAwareInputs(b.graph(), 11);
        OpsetAwareInputs o18 = new OpsetAwareInputs(b.graph(), 18);
        assertArrayEquals(new long[] {3, 3}, o11.split(split).longs());
        assertArrayEquals(new long[] {2, 4}, o18.split(split).longs());
        assertTrue(o11.splitNumOutputs(split).isEmpty());
        assertEquals(2, o18.splitNumOutputs(split).getAsLong());

        Node clipOld = b.node("Clip", List.of("x"), List.of("c1")).attr("min", 0f);
        Node clipNew = b.node("Clip", List.of("x", "lo"), List.of("c2"));
        assertArrayEquals(
                new float[] {0f},
                new OpsetAwareInputs(b.graph(), 6).clipMin(clipOld).floats());
        assertTrue(new OpsetAwareInputs(b.graph(), 6).clipMax(clipOld).isAbsent());
        assertArrayEquals(new float[] {-1f}, o11.clipMin(clipNew).floats());
        assertTrue(o11.clipMax(clipNew).isAbsent());

        Node slice = b.node("Slice", List.of("x", "starts", "ends"), List.of("s"));
        assertArrayEquals(new long[] {1}, o11.slice(slice, "starts").longs());
        assertArrayEquals(new long[] {5}, o11.slice(slice, "ends").longs());
        assertTrue(o11.slice(slice, "steps").isAbsent());

        Node drop = b.node("Dropout", List.of("x"), List.of("d")).attr("ratio", 0.1f);
        assertArrayEquals(
                new float[] {0.1f},
                new OpsetAwareInputs(b.graph(), 11).dropoutRatio(drop).floats());
        assertTrue(new OpsetAwareInputs(b.graph(), 12).dropoutRatio(drop).isAbsent());

        Node pad = b.node("Pad", List.of("x"), List.of("pd")).attrInts("pads", 1, 1);
        assertArrayEquals(
                new long[] {1, 1}, new OpsetAwareInputs(b.graph(), 2).pads(pad).longs());

        assertThrows(InvalidArgumentException.class, () -> o11.axes(drop));
        assertThrows(InvalidArgumentException.class, () -> o11.split(drop));
    }
}
