package dev.rectify.canon;

import dev.rectify.core.HalfFloats;
import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What one lowering works with: the fused node, its graph, the model's ONNX opset and the tensors' element types,
 * plus helpers that emit standard ONNX nodes in the form valid at that opset (axes as attributes before 13, as
 * inputs after). The emitted nodes replace the fused node in place. Constants are Constant nodes (never
 * initializers), so they are never mistaken for trainable weights.
 */
final class Lower {
    final Graph graph;
    final Node node;
    final int opset;
    final ElementTypes types;
    final List<Node> emitted = new ArrayList<>();
    private final String prefix;

    Lower(Graph graph, Node node, int opset, ElementTypes types) {
        this.graph = graph;
        this.node = node;
        this.opset = opset;
        this.types = types;
        String base = node.name().isEmpty() ? node.opType() + "_" + node.outputs() : node.name();
        this.prefix = base + "/lowered";
    }

    // ---- the fused node ----

    /** Input {@code i}, "" when absent. */
    String in(int i) {
        return node.input(i);
    }

    boolean has(int i) {
        return !node.input(i).isEmpty();
    }

    /** Output {@code i}, "" when not wanted. */
    String out(int i) {
        return node.output(i);
    }

    boolean wants(int i) {
        return !node.output(i).isEmpty();
    }

    long attr(String name, long def) {
        return Attributes.getInt(node, name, def);
    }

    float attr(String name, float def) {
        return Attributes.getFloat(node, name, def);
    }

    /** The element type of {@code t}; a typed error when it cannot be determined. */
    int type(String t) {
        int ty = types.type(t);
        if (ty == 0) {
            throw fail(
                    "the element type of '" + t + "' is unknown",
                    "Declare it (value_info) or run ONNX shape " + "inference on the model before training");
        }
        return ty;
    }

    /** The rank of {@code t}; a typed error when unknown. */
    int rank(String t) {
        int r = types.rank(t);
        if (r < 0) {
            throw fail(
                    "the rank of '" + t + "' is unknown",
                    "Declare its shape (value_info) or run ONNX shape " + "inference on the model before training");
        }
        return r;
    }

    UnlowerableOpException fail(String why, String whatToDo) {
        return new UnlowerableOpException(node, why, whatToDo);
    }

    // ---- emitting ----

    String fresh(String hint) {
        return graph.uniqueName(prefix + "/" + hint);
    }

    /** Emits a default-domain node with the given inputs and outputs. */
    Node emit(String op, List<String> ins, List<String> outs) {
        Node n = Node.of(op, ins, outs).name(graph.uniqueName(prefix + "/" + op));
        emitted.add(n);
        types.walk(n);
        return n;
    }

    /** Emits a one-output node whose output gets a fresh name; returns that name. */
    String op(String op, String... ins) {
        String o = fresh(op.toLowerCase());
        emit(op, Arrays.asList(ins), List.of(o));
        return o;
    }

    /** Emits a one-output node writing to {@code out}. */
    Node to(String out, String op, String... ins) {
        return emit(op, Arrays.asList(ins), List.of(out));
    }

    /** A one-output node with attributes set by the caller on the returned node. */
    Node opNode(String op, String... ins) {
        return emit(op, Arrays.asList(ins), List.of(fresh(op.toLowerCase())));
    }

    static String out0(Node n) {
        return n.output(0);
    }

    String constant(TensorProto value) {
        String o = fresh("const");
        Node n = Node.of("Constant", List.of(), List.of(o))
                .attr("value", value)
                .name(graph.uniqueName(prefix + "/Constant"));
        emitted.add(n);
        types.walk(n);
        return o;
    }

    /** A scalar of element type {@code dtype} (float, double, float16 or bfloat16). */
    String scalar(double v, int dtype) {
        return constant(floatTensor(new double[] {v}, dtype));
    }

    static TensorProto floatTensor(double[] v, int dtype, long... dims) {
        if (dtype == DataType.FLOAT_VALUE) {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                f[i] = (float) v[i];
            }
            return Tensors.ofFloats("", f, dims);
        }
        if (dtype == DataType.DOUBLE_VALUE) {
            return Tensors.ofDoubles("", v, dims);
        }
        ByteBuffer b = ByteBuffer.allocate(2 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) {
            b.putShort(
                    dtype == DataType.FLOAT16_VALUE
                            ? HalfFloats.floatToHalf((float) x)
                            : HalfFloats.floatToBfloat16((float) x));
        }
        return Tensors.ofRaw("", DataType.forNumber(dtype), b.array(), dims);
    }

    /** A 1-D int64 constant. */
    String ints(long... v) {
        return constant(Tensors.ofLongs("", v, v.length));
    }

    /** A 0-D int64 constant. */
    String intScalar(long v) {
        return constant(Tensors.ofLongs("", new long[] {v}));
    }

    String cast(String x, int to) {
        if (types.type(x) == to) {
            return x;
        }
        return out0(opNode("Cast", x).attr("to", (long) to));
    }

    /** The type the lowerings compute in for inputs of type {@code t}: double stays, everything else is float. */
    static int computeType(int t) {
        return t == DataType.DOUBLE_VALUE ? t : DataType.FLOAT_VALUE;
    }

    /** {@code x} in its compute type (float16/bfloat16 are upcast to float). */
    String up(String x) {
        return cast(x, computeType(type(x)));
    }

    String unsqueeze(String x, long... axes) {
        if (opset >= 13) {
            return op("Unsqueeze", x, ints(axes));
        }
        return out0(opNode("Unsqueeze", x).attrInts("axes", axes));
    }

    String squeeze(String x, long... axes) {
        if (opset >= 13) {
            return op("Squeeze", x, ints(axes));
        }
        return out0(opNode("Squeeze", x).attrInts("axes", axes));
    }

    String reduceSum(String x, boolean keepdims, long... axes) {
        if (opset >= 13) {
            return out0(opNode("ReduceSum", x, ints(axes)).attr("keepdims", keepdims ? 1L : 0L));
        }
        return out0(opNode("ReduceSum", x).attrInts("axes", axes).attr("keepdims", keepdims ? 1L : 0L));
    }

    /** {@code x[start:end]} along {@code axis} (Slice-10 form). */
    String slice(String x, long start, long end, long axis) {
        return op("Slice", x, ints(start), ints(end), ints(axis));
    }

    String transpose(String x, long... perm) {
        return out0(opNode("Transpose", x).attrInts("perm", perm));
    }

    /** Dim {@code i} of {@code x} as a 1-D int64 tensor of one element. */
    String dim(String x, long i) {
        return out0(opNode("Gather", op("Shape", x), ints(i)).attr("axis", 0L));
    }

    /**
     * Reshapes {@code x} to {@code dims}: each a {@code Long} (0 copies the input dim, -1 is inferred) or the name of
     * a 1-D int64 tensor (for example from {@link #dim}).
     */
    String reshape(String x, Object... dims) {
        boolean allConst = Arrays.stream(dims).allMatch(d -> d instanceof Long || d instanceof Integer);
        String shape;
        if (allConst) {
            shape = ints(
                    Arrays.stream(dims).mapToLong(d -> ((Number) d).longValue()).toArray());
        } else {
            String[] parts = new String[dims.length];
            for (int i = 0; i < dims.length; i++) {
                parts[i] = dims[i] instanceof String s ? s : ints(((Number) dims[i]).longValue());
            }
            shape = out0(opNode("Concat", parts).attr("axis", 0L));
        }
        return op("Reshape", x, shape);
    }

    String softmaxLast(String x) {
        return out0(opNode("Softmax", x).attr("axis", -1L));
    }

    String concat(long axis, String... xs) {
        return out0(opNode("Concat", xs).attr("axis", axis));
    }
}
