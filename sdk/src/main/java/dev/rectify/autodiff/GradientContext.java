package dev.rectify.autodiff;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OpsetAwareInputs;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * What a {@link GradientRule} sees and uses while differentiating one forward node: the node, which inputs need a
 * gradient, the gradients of its outputs, tensor types and shapes, and helpers that append backward nodes (named
 * uniquely under {@code <node name>_Grad/}) in the form valid at the graph's opset.
 */
public final class GradientContext {
    private final Emitter em;
    private final OpRegistry ops;
    private final Node node;
    private final boolean[] needs;
    private final String[] outGrads;
    private final Engine.Sink sink;

    GradientContext(Emitter em, OpRegistry ops, Node node, boolean[] needs, String[] outGrads, Engine.Sink sink) {
        this.em = em;
        this.ops = ops;
        this.node = node;
        this.needs = needs;
        this.outGrads = outGrads;
        this.sink = sink;
    }

    // ---- the forward node

    /** The forward node being differentiated. */
    public Node node() {
        return node;
    }

    /** The graph being extended (backward nodes are appended to it). */
    public Graph graph() {
        return em.graph;
    }

    /** The graph's default-domain (ai.onnx) opset. */
    public int opset() {
        return em.opset;
    }

    /** Input {@code i} of the forward node, "" when absent. */
    public String input(int i) {
        return node.input(i);
    }

    /** Output {@code i} of the forward node, "" when absent. */
    public String output(int i) {
        return node.output(i);
    }

    public int inputCount() {
        return node.inputs().size();
    }

    /** Whether input {@code i} needs a gradient (it depends on a wrt tensor through differentiable edges). */
    public boolean requiresGradient(int i) {
        return i < needs.length && needs[i];
    }

    /** The gradient of output {@code i}, or null when no gradient reaches it (treat it as zero). */
    public String outputGradient(int i) {
        return i < outGrads.length ? outGrads[i] : null;
    }

    public boolean hasOutputGradient(int i) {
        return outputGradient(i) != null;
    }

    /**
     * Reports {@code gradient} as a contribution to the gradient of input {@code i} (it must have the input's shape
     * and type). Contributions to a tensor from several consumers are summed. Ignored when the input needs none.
     */
    public void addInputGradient(int i, String gradient) {
        if (requiresGradient(i) && gradient != null) {
            em.info.put(gradient, em.info.type(input(i)), em.info.shape(input(i)));
            sink.add(input(i), gradient);
        }
    }

    // ---- tensor information

    /** The element type of {@code tensor} (an ONNX DataType number), 0 when unknown. */
    public int elemType(String tensor) {
        return em.info.type(tensor);
    }

    /** Whether {@code tensor} is known to be FLOAT (the only type of several com.microsoft CPU gradient kernels). */
    public boolean isFloat32(String tensor) {
        return em.info.type(tensor) == DataType.FLOAT_VALUE;
    }

    /** The rank of {@code tensor}, -1 when unknown. */
    public int rank(String tensor) {
        return em.info.rank(tensor);
    }

    /** The dims of {@code tensor} when all are known numbers. */
    public Optional<long[]> staticShape(String tensor) {
        return em.info.staticShape(tensor);
    }

    /** The shape of {@code tensor}; empty when its rank is unknown. */
    public Optional<Shape> shape(String tensor) {
        return em.info.shape(tensor);
    }

    /** The constant value of {@code tensor} (an initializer that is not a graph input, or a Constant's output). */
    public Optional<TensorProto> constant(String tensor) {
        return tensor.isEmpty() ? Optional.empty() : em.graph.constant(tensor);
    }

    /** Reads parameters that moved from attributes to inputs across opsets (axes, split, starts...). */
    public OpsetAwareInputs params() {
        return new OpsetAwareInputs(em.graph, em.opset);
    }

    public long attrInt(String name, long defaultValue) {
        return Attributes.getInt(node, name, defaultValue);
    }

    public float attrFloat(String name, float defaultValue) {
        return Attributes.getFloat(node, name, defaultValue);
    }

    public String attrString(String name, String defaultValue) {
        return Attributes.getString(node, name, defaultValue);
    }

    public long[] attrInts(String name, long[] defaultValue) {
        return Attributes.getInts(node, name, defaultValue);
    }

    // ---- emitting nodes

    /** Appends a one-output default-domain node; returns its (fresh) output name. */
    public String op(String opType, String... inputs) {
        return em.op(opType, inputs);
    }

    /** Appends a one-output {@code com.microsoft} node; returns its output name. */
    public String msOp(String opType, String... inputs) {
        return em.msOp(opType, inputs);
    }

    /** Appends a node with explicit outputs (use {@link #fresh} for names); returns it, for setting attributes. */
    public Node emit(String domain, String opType, List<String> inputs, List<String> outputs) {
        return em.node(domain, opType, inputs, outputs);
    }

    /** The node appended last, for setting attributes on what {@link #op} made. */
    public Node last() {
        return em.last();
    }

    /** A fresh tensor name under this node's prefix. */
    public String fresh(String hint) {
        return em.temp(hint);
    }

    /** A scalar constant of {@code tensor}'s element type. */
    public String scalarLike(double value, String tensor) {
        return em.scalar(value, em.info.type(tensor), tensor);
    }

    /** A 1-D INT64 constant. */
    public String ints(long... values) {
        return em.ints(values);
    }

    /** Shape(tensor) (one Shape node per tensor). */
    public String shapeOf(String tensor) {
        return em.shapeOf(tensor);
    }

    /** Zeros of {@code tensor}'s shape and type. */
    public String zerosLike(String tensor) {
        int type = em.info.type(tensor);
        String out = op("ConstantOfShape", shapeOf(tensor));
        if (type == DataType.FLOAT_VALUE || type == 0) {
            last().attr("value", Tensors.ofFloats(null, new float[] {0f}, 1));
        } else if (type == DataType.DOUBLE_VALUE) {
            last().attr("value", Tensors.ofDoubles(null, new double[] {0}, 1));
        } else {
            last().attr("value", Tensors.ofFloats(null, new float[] {0f}, 1));
            out = op("Cast", out);
            last().attr("to", (long) type);
        }
        if (type == 0 && em.opset >= 15) {
            out = op("CastLike", out, tensor);
        }
        return out;
    }

    /** ReduceSum over constant axes (opset-aware); an empty axes list returns {@code x}. */
    public String reduceSum(String x, long[] axes, boolean keepdims) {
        return axes.length == 0 ? x : em.reduceSum(x, axes, keepdims);
    }

    /** ReduceSum over an axes tensor computed at run time (empty axes: no reduction). */
    public String reduceSumDynamic(String x, String axesTensor, boolean keepdims) {
        return em.reduceSumDynamic(x, axesTensor, keepdims);
    }

    /** ReduceMean over constant non-empty axes (axes as attribute before opset 18, as input since). */
    public String reduceMean(String x, long[] axes, boolean keepdims) {
        String out;
        if (em.opset >= 18) {
            out = op("ReduceMean", x, ints(axes));
        } else {
            out = op("ReduceMean", x);
            last().attrInts("axes", axes);
        }
        last().attr("keepdims", keepdims ? 1L : 0L);
        return out;
    }

    /** Cast(t) to {@code like}'s element type (CastLike when unknown); {@code t} itself when already of it. */
    public String castLike(String t, String like) {
        int tl = em.info.type(like);
        int tt = em.info.type(t);
        if (tl != 0 && tl == tt) {
            return t;
        }
        if (tl == 0) {
            return op("CastLike", t, like);
        }
        String out = op("Cast", t);
        last().attr("to", (long) tl);
        em.info.put(out, tl, em.info.shape(t));
        return out;
    }

    public String unsqueeze(String x, long... axes) {
        return em.unsqueeze(x, axes);
    }

    public String squeeze(String x, long... axes) {
        return em.squeeze(x, axes);
    }

    /** Reshape(x, shapeTensor), with allowzero=1 where available. */
    public String reshape(String x, String shapeTensor) {
        return em.reshape(x, shapeTensor);
    }

    /** Reshape(x, Shape(like)). */
    public String reshapeLike(String x, String like) {
        Optional<long[]> s = staticShape(like);
        if (s.isPresent() && Arrays.stream(s.get()).allMatch(d -> d > 0)) {
            return em.reshape(x, ints(s.get()));
        }
        return em.reshape(x, shapeOf(like));
    }

    /** Transpose(x) swapping the last two axes of a rank-{@code rank} tensor. */
    public String swapLastTwo(String x, int rank) {
        return em.swapLastTwo(x, rank);
    }

    /**
     * Sums {@code grad}, the gradient of a tensor of shape {@code gradShape} (empty when unknown) that {@code target}
     * was broadcast into, back to {@code target}'s shape (see {@link Broadcasting}).
     */
    public String unbroadcast(String grad, String target, Optional<Shape> gradShape) {
        return Broadcasting.reduceTo(
                this, grad, gradShape.orElse(null), target, shape(target).orElse(null));
    }

    /** {@link #unbroadcast} where {@code grad} has the shape of forward output {@code outputIndex}. */
    public String unbroadcastFromOutput(String grad, int inputIndex, int outputIndex) {
        return unbroadcast(grad, input(inputIndex), shape(output(outputIndex)));
    }

    /**
     * The error for this node's op when its rule cannot handle this instance (an attribute or input form it does not
     * support); {@code detail} says what. Lists the supported ops.
     */
    public UnsupportedOpException unsupported(String detail) {
        return ops.unsupported(node, detail);
    }

    /** Records the type (0: unknown) and shape of a tensor the rule added. */
    void describe(String tensor, int type, Optional<Shape> shape) {
        em.info.put(tensor, type, shape);
    }

    Emitter emitter() {
        return em;
    }
}
