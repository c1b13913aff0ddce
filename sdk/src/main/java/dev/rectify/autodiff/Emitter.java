package dev.rectify.autodiff;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Appends backward nodes to a graph for one differentiation: unique names (tracked here, so naming stays O(1)
 * per node on large graphs), cached constants and Shape nodes, and opset-aware forms of ReduceSum, Squeeze and
 * Unsqueeze (axes as attribute before opset 13, as input since).
 */
final class Emitter {
    final Graph graph;
    final int opset;
    final TensorInfo info;
    private final Set<String> used;
    private final Map<String, Integer> counters = new HashMap<>();
    private final Map<String, String> constants = new HashMap<>();
    private final Map<String, String> shapes = new HashMap<>();
    private String prefix = "Grad/";
    int emitted;

    Emitter(Graph graph, int opset, TensorInfo info) {
        this.graph = graph;
        this.opset = opset;
        this.info = info;
        this.used = graph.tensorNames();
        for (Node n : graph.nodes()) {
            used.add(n.name());
            for (GraphProto g : n.subgraphs()) {
                collect(g, used);
            }
        }
    }

    private static void collect(GraphProto g, Set<String> out) {
        g.getInputList().forEach(v -> out.add(v.getName()));
        g.getOutputList().forEach(v -> out.add(v.getName()));
        g.getInitializerList().forEach(t -> out.add(t.getName()));
        g.getNodeList().forEach(n -> {
            out.add(n.getName());
            out.addAll(n.getOutputList());
            n.getAttributeList().forEach(a -> {
                if (a.hasG()) {
                    collect(a.getG(), out);
                }
                a.getGraphsList().forEach(sg -> collect(sg, out));
            });
        });
    }

    /** Sets the name prefix of what follows (the forward node's name plus "_Grad/"). */
    void prefix(String p) {
        this.prefix = p;
    }

    /** A name not used in the graph: {@code base}, else {@code base_1}, {@code base_2}... */
    String fresh(String base) {
        String candidate = base;
        int k = counters.getOrDefault(base, 0);
        while (used.contains(candidate)) {
            k++;
            candidate = base + "_" + k;
        }
        counters.put(base, k);
        used.add(candidate);
        return candidate;
    }

    /** A fresh tensor name for an intermediate under the current prefix. */
    String temp(String hint) {
        return fresh(prefix + hint);
    }

    /** Appends a node; names it uniquely under the current prefix. */
    Node node(String domain, String opType, List<String> inputs, List<String> outputs) {
        Node n = Node.of(opType, inputs, outputs).domain(domain).name(fresh(prefix + opType));
        graph.addNode(n);
        emitted++;
        return n;
    }

    /** Appends a one-output default-domain node and returns its fresh output name. */
    String op(String opType, String... inputs) {
        String out = temp(opType.toLowerCase() + "_out");
        node("", opType, Arrays.asList(inputs), List.of(out));
        return out;
    }

    /** Like {@link #op} for an op of {@code domain} (e.g. com.microsoft). */
    String msOp(String opType, String... inputs) {
        String out = temp(opType.toLowerCase() + "_out");
        node(OnnxModel.MICROSOFT, opType, Arrays.asList(inputs), List.of(out));
        return out;
    }

    /** The last node appended. */
    Node last() {
        return graph.nodes().get(graph.nodes().size() - 1);
    }

    // ---- constants

    private String constant(String key, TensorProto value) {
        return constants.computeIfAbsent(key, k -> {
            String out = fresh("Grad/const");
            Node n = Node.of("Constant", List.of(), List.of(out))
                    .name(fresh("Grad/Constant"))
                    .attr("value", value);
            graph.addNode(n);
            emitted++;
            info.put(out, value.getDataType(), Optional.of(Shape.of(Tensors.dims(value))));
            return out;
        });
    }

    /** A 1-D INT64 constant. */
    String ints(long... values) {
        return constant("i64" + Arrays.toString(values), Tensors.ofLongs(null, values, values.length));
    }

    /** A rank-0 INT64 constant. */
    String intScalar(long value) {
        return constant("i64s" + value, Tensors.ofLongs(null, new long[] {value}));
    }

    /**
     * A scalar constant of element type {@code type}; when the type is unknown (0), a FLOAT one cast like
     * {@code like} (CastLike, opset 15+; assumed FLOAT before).
     */
    String scalar(double value, int type, String like) {
        if (type == DataType.FLOAT_VALUE) {
            return constant("f32" + value, Tensors.ofFloats(null, new float[] {(float) value}));
        }
        if (type == DataType.DOUBLE_VALUE) {
            return constant("f64" + value, Tensors.ofDoubles(null, new double[] {value}));
        }
        String f = scalar(value, DataType.FLOAT_VALUE, like);
        if (type != 0) {
            return constants.computeIfAbsent("cast" + type + ":" + value, k -> {
                String out = op("Cast", f);
                last().attr("to", (long) type);
                info.put(out, type, Optional.of(Shape.scalar()));
                return out;
            });
        }
        if (opset >= 15 && like != null) {
            return op("CastLike", f, like);
        }
        return f;
    }

    /** Shape(t), one node per tensor. */
    String shapeOf(String t) {
        return shapes.computeIfAbsent(t, k -> {
            String out = fresh("Grad/" + k + "_shape");
            Node n = Node.of("Shape", List.of(k), List.of(out)).name(fresh("Grad/Shape"));
            graph.addNode(n);
            emitted++;
            int r = info.rank(k);
            info.put(out, DataType.INT64_VALUE, Optional.of(r < 0 ? Shape.unknownDims(1) : Shape.of(r)));
            return out;
        });
    }

    // ---- opset-aware forms

    /** ReduceSum over constant non-empty {@code axes}. */
    String reduceSum(String x, long[] axes, boolean keepdims) {
        String out;
        if (opset >= 13) {
            out = op("ReduceSum", x, ints(axes));
        } else {
            out = op("ReduceSum", x);
            last().attrInts("axes", axes);
        }
        last().attr("keepdims", keepdims ? 1L : 0L);
        return out;
    }

    /** ReduceSum over an INT64 axes tensor computed at run time; empty axes reduce nothing. */
    String reduceSumDynamic(String x, String axes, boolean keepdims) {
        String out = opset >= 13 ? op("ReduceSum", x, axes) : msOp("ReduceSumTraining", x, axes);
        last().attr("keepdims", keepdims ? 1L : 0L).attr("noop_with_empty_axes", 1L);
        return out;
    }

    String unsqueeze(String x, long... axes) {
        if (opset >= 13) {
            return op("Unsqueeze", x, ints(axes));
        }
        String out = op("Unsqueeze", x);
        last().attrInts("axes", axes);
        return out;
    }

    String squeeze(String x, long... axes) {
        if (opset >= 13) {
            return op("Squeeze", x, ints(axes));
        }
        String out = op("Squeeze", x);
        last().attrInts("axes", axes);
        return out;
    }

    /** Reshape(x, shape) with allowzero=1 where the opset has it (the shape tensor holds real dims). */
    String reshape(String x, String shape) {
        String out = op("Reshape", x, shape);
        if (opset >= 14) {
            last().attr("allowzero", 1L);
        }
        return out;
    }

    /** Transpose swapping the last two axes of a rank-{@code rank} tensor. */
    String swapLastTwo(String x, int rank) {
        long[] perm = new long[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = i;
        }
        perm[rank - 1] = rank - 2;
        perm[rank - 2] = rank - 1;
        String out = op("Transpose", x);
        last().attrInts("perm", perm);
        return out;
    }
}
