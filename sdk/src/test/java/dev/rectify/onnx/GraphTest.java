package dev.rectify.onnx;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.BOOL;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.NodeProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GraphTest {

    /** x -> Relu(a) -> Mul(a, W)(b) -> If(cond){ then: Identity(b) ; else: Neg(W) } -> y */
    static Graph sample() {
        GraphBuilder t = GraphBuilder.create("then").output("t_out", FLOAT);
        t.node("Identity", List.of("b"), List.of("t_out"));
        GraphBuilder e = GraphBuilder.create("else").output("e_out", FLOAT);
        e.node("Neg", List.of("W"), List.of("e_out"));
        GraphBuilder g = GraphBuilder.create("main")
                .input("x", FLOAT, 2)
                .input("cond", BOOL)
                .output("y", FLOAT, 2)
                .initializer(Tensors.ofFloats("W", new float[] {1, 2}, 2))
                .initializer(Tensors.ofFloats("Z", new float[] {3}, 1));
        g.node(Node.of("Relu", List.of("x"), List.of("a")).name("relu"));
        g.node(Node.of("Mul", List.of("a", "W"), List.of("b")).name("mul"));
        g.node(Node.of("If", List.of("cond"), List.of("y"))
                .name("if")
                .attr("then_branch", t.build())
                .attr("else_branch", e.build()));
        return g.graph();
    }

    @Test
    void producerConsumerAndLookups() {
        Graph g = sample();
        assertEquals("relu", g.producer("a").orElseThrow().name());
        assertTrue(g.producer("x").isEmpty());
        assertEquals(List.of("mul"), g.consumers("a").stream().map(Node::name).toList());
        assertEquals(List.of("relu"), g.consumers("x").stream().map(Node::name).toList());
        assertTrue(g.isInitializer("W"));
        assertTrue(g.input("x").isPresent());
        assertEquals(Set.of("b", "W"), g.node("if").orElseThrow().implicitInputs());
        assertSame(g.node("mul").orElseThrow(), g.producerIndex().get("b"));
        assertEquals(1, g.consumerIndex().get("W").size());
        assertTrue(g.constant("W").isPresent());
        assertTrue(g.constant("a").isEmpty());
    }

    @Test
    void protoRoundTripPreservesSubgraphs() {
        Graph g = sample();
        GraphProto p = g.toProto();
        assertEquals(p, Graph.fromProto(p).toProto());
        NodeProto ifNode = p.getNode(2);
        assertEquals("Identity", ifNode.getAttribute(0).getG().getNode(0).getOpType());
        assertEquals(
                List.of("W", "Z"),
                new ArrayList<>(Graph.fromProto(p).initializers().keySet()));
    }

    @Test
    void renameTensorEverywhere() {
        Graph g = sample();
        g.renameTensor("W", "weight");
        assertEquals(List.of("weight", "Z"), new ArrayList<>(g.initializers().keySet()), "initializer order kept");
        assertEquals("weight", g.initializer("weight").orElseThrow().getName());
        assertEquals(List.of("a", "weight"), g.node("mul").orElseThrow().inputs());
        GraphProto elseBranch = Attributes.requireGraph(g.node("if").orElseThrow(), "else_branch");
        assertEquals(List.of("weight"), elseBranch.getNode(0).getInputList(), "outer reference in subgraph renamed");

        g.renameTensor("y", "out");
        assertEquals(List.of("out"), g.outputNames());
        assertEquals(List.of("out"), g.node("if").orElseThrow().outputs());

        g.renameTensor("x", "input");
        assertEquals(List.of("input", "cond"), g.inputNames());
        assertThrows(InvalidArgumentException.class, () -> g.renameTensor("a", "b"), "target in use");
    }

    @Test
    void renameRespectsShadowingInSubgraphs() {
        GraphBuilder body = GraphBuilder.create("body").input("b", FLOAT).output("o", FLOAT);
        body.node("Identity", List.of("b"), List.of("o"));
        Graph g = sample();
        g.node("if").orElseThrow().attr("then_branch", body.build());
        g.renameTensor("b", "bb");
        GraphProto then = Attributes.requireGraph(g.node("if").orElseThrow(), "then_branch");
        assertEquals(List.of("b"), then.getNode(0).getInputList(), "subgraph's own 'b' shadows the outer one");
    }

    @Test
    void uniqueNamesNeverCollide() {
        Graph g = sample();
        assertEquals("fresh", g.uniqueName("fresh"));
        assertEquals("fresh_1", g.uniqueName("fresh"), "names handed out are reserved");
        String a = g.uniqueName("a");
        assertNotEquals("a", a);
        assertNotEquals("relu", g.uniqueName("relu"), "node names count");
        assertNotEquals("t_out", g.uniqueName("t_out"), "subgraph names count");
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            assertTrue(seen.add(g.uniqueName("W")));
        }
        assertFalse(seen.contains("W"));
    }

    @Test
    void topologicalSortIsStableAndFollowsSubgraphReferences() {
        Graph g = sample();
        List<Node> original = List.copyOf(g.nodes());
        Collections.reverse(g.nodes());
        g.sortTopologically();
        assertEquals(original, g.nodes());
        // An unrelated node stays where it was relative to independent nodes.
        Node extra = g.insertNode(0, Node.of("Neg", List.of("b"), List.of("nb")).name("neg"));
        List<String> names = g.topologicalOrder().stream().map(Node::name).toList();
        assertEquals(List.of("relu", "mul", "neg", "if"), names);
        assertSame(extra, g.nodes().get(0), "topologicalOrder does not reorder in place");
    }

    @Test
    void cycleIsATypedError() {
        Graph g = Graph.empty("cyc");
        g.addNode(Node.of("Add", List.of("x", "c"), List.of("a")).name("n1"));
        g.addNode(Node.of("Relu", List.of("a"), List.of("c")).name("n2"));
        InvalidGraphException e = assertThrows(InvalidGraphException.class, g::topologicalOrder);
        assertTrue(e.getMessage().contains("cycle") && e.getMessage().contains("n1"), e.getMessage());

        Graph dup = Graph.empty("dup");
        dup.addNode(Node.of("Relu", List.of("x"), List.of("a")).name("p1"));
        dup.addNode(Node.of("Relu", List.of("x"), List.of("a")).name("p2"));
        assertTrue(assertThrows(InvalidGraphException.class, dup::topologicalOrder)
                .getMessage()
                .contains("'a'"));
    }

    @Test
    void addRemoveReplaceNodes() {
        Graph g = sample();
        Node mul = g.node("mul").orElseThrow();
        Node m1 = Node.of("Mul", List.of("a", "W"), List.of("tmp")).name("m1");
        Node m2 = Node.of("Identity", List.of("tmp"), List.of("b")).name("m2");
        g.replaceNode(mul, m1, m2);
        assertEquals(
                List.of("relu", "m1", "m2", "if"),
                g.nodes().stream().map(Node::name).toList());
        g.removeNode(m2);
        assertThrows(InvalidArgumentException.class, () -> g.removeNode(m2));
        assertThrows(InvalidArgumentException.class, () -> g.addInitializer(Tensors.scalar("W", 1f)));
        g.putInitializer(Tensors.scalar("W", 5f));
        assertEquals(5f, Tensors.toFloatArray(g.initializer("W").orElseThrow())[0]);
        assertTrue(g.removeInput("cond"));
        assertEquals(List.of("x"), g.inputNames());
    }

    @Test
    void attributeErrorsNameNodeAndAttribute() {
        Node n = Node.of("Softmax", List.of("x"), List.of("y")).name("sm").attr("axis", 1.5f);
        InvalidGraphException e = assertThrows(InvalidGraphException.class, () -> Attributes.getInt(n, "axis", -1));
        assertTrue(
                e.getMessage().contains("'sm'")
                        && e.getMessage().contains("'axis'")
                        && e.getMessage().contains("FLOAT"),
                e.getMessage());
        InvalidGraphException m = assertThrows(InvalidGraphException.class, () -> Attributes.requireInts(n, "perm"));
        assertTrue(m.getMessage().contains("'perm'") && m.getMessage().contains("missing"), m.getMessage());
        assertEquals(7, Attributes.getInt(n, "other", 7));
        Node t = Node.of("Transpose").attrInts("perm", 1, 0).attr("mode", "x").attrFloats("f", 0.5f);
        assertEquals(
                List.of(1L, 0L),
                Arrays.stream(Attributes.requireInts(t, "perm")).boxed().toList());
        assertEquals("x", Attributes.requireString(t, "mode"));
        assertEquals(0.5f, Attributes.requireFloats(t, "f")[0]);
        assertEquals(Node.fromProto(t.toProto()).toProto(), t.toProto());
    }
}
