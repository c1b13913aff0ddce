package dev.rectify.autodiff;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.TensorShapeProto;
import dev.rectify.onnx.proto.OnnxProto.TypeProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Element types and shapes of a graph's tensors: declared ones (inputs, outputs, value_info, initializers,
 * Constant nodes) plus a forward pass running each node's {@link OpSpec#shape() shape function}. The outputs of an
 * op without a spec are unknown unless declared. Element types are ONNX {@code DataType} numbers, 0 when unknown; a
 * tensor of unknown rank has no {@link Shape}.
 */
final class TensorInfo {
    private final Map<String, Integer> types = new HashMap<>();
    private final Map<String, Shape> shapes = new HashMap<>();
    private final Map<String, List<DimValues.Element>> values = new HashMap<>();

    private TensorInfo() {}

    /**
     * Infers types and shapes for {@code graph}, whose nodes are given in topological {@code order}.
     *
     * @throws ShapeInferenceException when a node's inputs or attributes contradict its op
     */
    static TensorInfo infer(Graph graph, List<Node> order, int opset, OpRegistry ops) {
        TensorInfo info = new TensorInfo();
        for (TensorProto t : graph.initializers().values()) {
            info.types.put(t.getName(), t.getDataType());
            info.shapes.put(t.getName(), Shape.of(Tensors.dims(t)));
        }
        for (Node n : order) {
            // a Constant's value is the truth, whatever value_info says (exporters write wrong ones)
            if (n.isDefaultDomain()
                    && n.opType().equals("Constant")
                    && !n.outputs().isEmpty()) {
                graph.constant(n.output(0)).ifPresent(t -> {
                    info.types.put(n.output(0), t.getDataType());
                    info.shapes.put(n.output(0), Shape.of(Tensors.dims(t)));
                });
            }
        }
        for (List<ValueInfoProto> list : List.of(graph.inputs(), graph.valueInfos(), graph.outputs())) {
            for (ValueInfoProto v : list) {
                info.declare(v);
            }
        }
        for (Node n : order) {
            Optional<OpSpec> spec = ops.spec(n);
            if (spec.isEmpty() || n.outputs().isEmpty()) {
                continue; // explicitly unknown: no spec, no inference
            }
            InferenceContext ctx = new InferenceContext(info, graph, n, opset);
            try {
                spec.get().shape().infer(ctx);
            } catch (ShapeInferenceException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new ShapeInferenceException(
                        Engine.nodeName(n), ctx.describeOp(), ctx.describeInputs(), String.valueOf(e.getMessage()), e);
            }
        }
        // declared information wins over inference where it is more precise
        for (List<ValueInfoProto> list : List.of(graph.valueInfos(), graph.outputs())) {
            for (ValueInfoProto v : list) {
                info.declare(v);
            }
        }
        return info;
    }

    private void declare(ValueInfoProto v) {
        if (!v.hasType() || !v.getType().hasTensorType()) {
            return;
        }
        TypeProto.Tensor t = v.getType().getTensorType();
        if (t.getElemType() != 0) {
            types.put(v.getName(), t.getElemType());
        }
        if (t.hasShape()) {
            List<Dim> dims = new ArrayList<>();
            for (TensorShapeProto.Dimension d : t.getShape().getDimList()) {
                dims.add(
                        d.hasDimValue()
                                ? Dim.of(d.getDimValue())
                                : d.hasDimParam() && !d.getDimParam().isEmpty()
                                        ? Dim.symbolic(d.getDimParam())
                                        : Dim.unknown());
            }
            Shape declared = new Shape(dims);
            Shape old = shapes.get(v.getName());
            if (old == null || declared.informativeDims() >= old.informativeDims()) {
                shapes.put(v.getName(), declared);
            }
        }
    }

    /** The element type of {@code t}, 0 when unknown. */
    int type(String t) {
        return types.getOrDefault(t, 0);
    }

    /** The shape of {@code t}, empty when its rank is unknown. */
    Optional<Shape> shape(String t) {
        return Optional.ofNullable(shapes.get(t));
    }

    /** The rank of {@code t}, -1 when unknown. */
    int rank(String t) {
        Shape s = shapes.get(t);
        return s == null ? -1 : s.rank();
    }

    /** The shape as numbers when every dim is known. */
    Optional<long[]> staticShape(String t) {
        return shape(t).flatMap(Shape::sizes);
    }

    /** What is known of the elements of the small integer tensor {@code t} (see {@link DimValues}). */
    Optional<List<DimValues.Element>> value(String t) {
        return Optional.ofNullable(values.get(t));
    }

    void inferValue(String t, List<DimValues.Element> value) {
        values.putIfAbsent(t, List.copyOf(value));
    }

    /** Records what inference found for {@code t}, unless something is known already. */
    void inferType(String t, int type) {
        types.putIfAbsent(t, type);
    }

    void inferShape(String t, Shape shape) {
        shapes.putIfAbsent(t, shape);
    }

    /** Records information about a tensor emitted by autodiff (type 0 and an empty shape leave that part as is). */
    void put(String t, int type, Optional<Shape> shape) {
        if (type != 0) {
            types.put(t, type);
        }
        shape.ifPresent(s -> shapes.put(t, s));
    }

    /** Whether {@code type} is a floating-point element type gradients flow through. */
    static boolean isFloat(int type) {
        return type == DataType.FLOAT_VALUE
                || type == DataType.DOUBLE_VALUE
                || type == DataType.FLOAT16_VALUE
                || type == DataType.BFLOAT16_VALUE;
    }
}
