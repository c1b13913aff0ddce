package dev.rectify.autodiff;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto;
import java.util.List;
import java.util.Optional;

/** What a {@link ShapeFunction} sees of one node: its inputs' types, shapes and constant values, and its attributes. */
public final class InferenceContext {
    /** Shape-like tensors are short; longer integer tensors are data, not tracked. */
    private static final int MAX_VALUE_ELEMENTS = 16;

    private final TensorInfo info;
    private final Graph graph;
    private final Node node;
    private final int opset;

    InferenceContext(TensorInfo info, Graph graph, Node node, int opset) {
        this.info = info;
        this.graph = graph;
        this.node = node;
        this.opset = opset;
    }

    public Node node() {
        return node;
    }

    /** The graph's default-domain opset. */
    public int opset() {
        return opset;
    }

    /** Input {@code i}'s name, "" when absent. */
    public String input(int i) {
        return node.input(i);
    }

    public int inputCount() {
        return node.inputs().size();
    }

    public int outputCount() {
        return node.outputs().size();
    }

    /** The element type (ONNX DataType number) of input {@code i}, 0 when unknown or absent. */
    public int inputType(int i) {
        String t = node.input(i);
        return t.isEmpty() ? 0 : info.type(t);
    }

    /** The first known element type among the inputs, 0 when none is known. */
    public int firstKnownInputType() {
        for (int i = 0; i < inputCount(); i++) {
            if (inputType(i) != 0) {
                return inputType(i);
            }
        }
        return 0;
    }

    /** The shape of input {@code i}; empty when its rank is unknown or it is absent. */
    public Optional<Shape> inputShape(int i) {
        String t = node.input(i);
        return t.isEmpty() ? Optional.empty() : info.shape(t);
    }

    /**
     * The values of input {@code i} when they are known before the run: a constant (initializer or Constant output),
     * or integers computed from shapes known here ({@code Gather(Shape(x), 2)} for an x whose dim 2 is known).
     */
    public Optional<long[]> constantInts(int i) {
        String t = node.input(i);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        Optional<long[]> c = graph.constant(t).map(Tensors::toLongArray);
        return c.isPresent() ? c : info.value(t).flatMap(DimValues::numbers);
    }

    /** What is known of the elements of integer input {@code i}, a shape-like tensor of rank 0 or 1. */
    Optional<List<DimValues.Element>> values(int i) {
        String t = node.input(i);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        Optional<OnnxProto.TensorProto> c = graph.constant(t);
        if (c.isPresent()) {
            OnnxProto.TensorProto p = c.get();
            boolean integer = p.getDataType() == OnnxProto.TensorProto.DataType.INT64_VALUE
                    || p.getDataType() == OnnxProto.TensorProto.DataType.INT32_VALUE;
            return integer && p.getDimsCount() <= 1
                    ? Optional.of(DimValues.ofNumbers(Tensors.toLongArray(p)))
                    : Optional.empty();
        }
        return info.value(t);
    }

    /** Records what is known of output {@code i}'s elements. */
    void setValues(int i, List<DimValues.Element> value) {
        String o = node.output(i);
        if (!o.isEmpty() && value.size() <= MAX_VALUE_ELEMENTS) {
            info.inferValue(o, value);
        }
    }

    /** The tensor {@code t} holds when it is a constant. */
    Optional<OnnxProto.TensorProto> constant(String t) {
        return graph.constant(t);
    }

    public long attrInt(String name, long defaultValue) {
        return Attributes.getInt(node, name, defaultValue);
    }

    public long[] attrInts(String name, long[] defaultValue) {
        return Attributes.getInts(node, name, defaultValue);
    }

    public boolean hasAttribute(String name) {
        return node.hasAttribute(name);
    }

    /** Sets output {@code i}'s element type (0: leave unknown), unless the output is absent or already typed. */
    public void setType(int i, int type) {
        String o = node.output(i);
        if (!o.isEmpty() && type != 0) {
            info.inferType(o, type);
        }
    }

    /** Sets output {@code i}'s shape, unless the output is absent or already has one. */
    public void setShape(int i, Shape shape) {
        String o = node.output(i);
        if (!o.isEmpty() && shape != null) {
            info.inferShape(o, shape);
        }
    }

    /** Sets both; either may be unknown (0, empty). */
    public void setOutput(int i, int type, Optional<Shape> shape) {
        setType(i, type);
        shape.ifPresent(s -> setShape(i, s));
    }

    /** The typed error for input {@code i} contradicting this op; throw it. */
    public ShapeInferenceException fail(int i, String why) {
        return new ShapeInferenceException(Engine.nodeName(node), describeOp(), describeInput(i), why, null);
    }

    String describeOp() {
        return node.isDefaultDomain() ? node.opType() : node.domain() + ":" + node.opType();
    }

    String describeInput(int i) {
        String t = node.input(i);
        return "#" + i + " '" + t + "' " + info.shape(t).map(Shape::toString).orElse("(rank unknown)");
    }

    /** All inputs with their shapes, for errors that no single input is to blame for. */
    String describeInputs() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < inputCount(); i++) {
            if (!node.input(i).isEmpty()) {
                b.append(b.length() == 0 ? "" : ", ").append(describeInput(i));
            }
        }
        return b.length() == 0 ? "(none)" : b.toString();
    }
}
