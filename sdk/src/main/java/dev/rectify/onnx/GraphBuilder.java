package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.Arrays;
import java.util.List;

/**
 * A fluent way to build a {@link Graph}:
 * <pre>{@code
 * GraphBuilder g = GraphBuilder.create("linear")
 *     .input("x", FLOAT, "batch", 8).output("y", FLOAT, "batch", 6)
 *     .initializer(Tensors.ofFloats("W", w, 8, 6));
 * String xw = g.op("MatMul", "x", "W");
 * g.node("Softmax", List.of(xw), List.of("y")).attr("axis", -1L);
 * OnnxModel m = ModelBuilder.create().opset("", 17).graph(g).build();
 * }</pre>
 * Nodes added without a name get a unique one ({@code opType_k}).
 */
public final class GraphBuilder {
    private final Graph graph;

    private GraphBuilder(Graph graph) {
        this.graph = graph;
    }

    /** An empty graph named {@code name}. */
    public static GraphBuilder create(String name) {
        return new GraphBuilder(Graph.empty(name));
    }

    /** Continues building on an existing graph (edited in place). */
    public static GraphBuilder on(Graph graph) {
        return new GraphBuilder(graph);
    }

    /** Adds a tensor graph input. */
    public GraphBuilder input(String name, DataType type, Object... dims) {
        graph.addInput(Builders.tensor(name, type, dims));
        return this;
    }

    public GraphBuilder input(ValueInfoProto v) {
        graph.addInput(v);
        return this;
    }

    /** Adds a tensor graph output. */
    public GraphBuilder output(String name, DataType type, Object... dims) {
        graph.addOutput(Builders.tensor(name, type, dims));
        return this;
    }

    public GraphBuilder output(ValueInfoProto v) {
        graph.addOutput(v);
        return this;
    }

    /** Adds an intermediate value info. */
    public GraphBuilder valueInfo(String name, DataType type, Object... dims) {
        graph.addValueInfo(Builders.tensor(name, type, dims));
        return this;
    }

    /** Adds an initializer (an error if the name exists). */
    public GraphBuilder initializer(TensorProto t) {
        graph.addInitializer(t);
        return this;
    }

    /** Adds {@code node} (named uniquely if unnamed) and returns it, for setting attributes. */
    public Node node(Node node) {
        if (node.name().isEmpty()) {
            node.name(graph.uniqueName(node.opType() + "_" + (graph.nodes().size())));
        }
        return graph.addNode(node);
    }

    /** Adds a default-domain node and returns it, for setting attributes. */
    public Node node(String opType, List<String> inputs, List<String> outputs) {
        return node(Node.of(opType, inputs, outputs));
    }

    /** Adds a node of {@code domain} (for example {@link OnnxModel#MICROSOFT}) and returns it. */
    public Node node(String domain, String opType, List<String> inputs, List<String> outputs) {
        return node(Node.of(opType, inputs, outputs).domain(domain));
    }

    /** Adds a one-output default-domain node whose output gets a fresh unique name; returns that name. */
    public String op(String opType, String... inputs) {
        String out = graph.uniqueName(opType.toLowerCase() + "_out");
        node(Node.of(opType, Arrays.asList(inputs), List.of(out)));
        return out;
    }

    /** Adds a Constant node holding {@code value} and returns its output name (the tensor's name if set). */
    public String constant(TensorProto value) {
        String out = value.getName().isEmpty() ? graph.uniqueName("const") : value.getName();
        node(Node.of("Constant", List.of(), List.of(out))
                .attr("value", value.toBuilder().clearName().build()));
        return out;
    }

    /** A fresh unique name (see {@link Graph#uniqueName}). */
    public String uniqueName(String prefix) {
        return graph.uniqueName(prefix);
    }

    /** The graph being built (live). */
    public Graph graph() {
        return graph;
    }

    /** The graph as a protobuf message. */
    public GraphProto build() {
        return graph.toProto();
    }
}
