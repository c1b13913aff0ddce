package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * The one table of how an op's first output takes its element type and rank from its inputs, below both graph passes
 * that need it: the fused-op lowering ({@code canon}) walks graphs with it, and the autodiff's op records register
 * their comparison and logic ops from its bool sets (both packages sit on one layer and may not import each other).
 * Element types are ONNX {@code DataType} numbers, 0 when unknown; ranks are -1 when unknown. Ops are matched by type
 * whatever their domain, so the fused {@code com.microsoft} ops are covered too.
 */
public final class OpOutputs {
    /** Element-wise ops with a BOOL output of their input's shape. */
    public static final Set<String> BOOL_ELEMENTWISE = Set.of("Not", "IsNaN", "IsInf");

    /** Comparisons and logic: numpy broadcasting of the inputs to a BOOL output. */
    public static final Set<String> BOOL_BROADCAST =
            Set.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor");

    /** Ops whose output is INT64 whatever their input (shapes, sizes, indices). */
    public static final Set<String> INT64_OUTPUT = Set.of("Shape", "Size", "ArgMax", "ArgMin", "NonZero");

    /** Numeric ops broadcasting their inputs: the output's rank is the largest input rank. */
    public static final Set<String> BROADCAST = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min", "Sum");

    /** Ops whose output has the rank of input 0 (element-wise, normalizations, rotary, movement keeping rank). */
    public static final Set<String> SAME_RANK = Set.of(
            "Cast",
            "CastLike",
            "Neg",
            "Sqrt",
            "Exp",
            "Log",
            "Tanh",
            "Sigmoid",
            "Erf",
            "Relu",
            "Softmax",
            "LogSoftmax",
            "Identity",
            "Gelu",
            "FastGelu",
            "BiasGelu",
            "QuickGelu",
            "LayerNormalization",
            "SimplifiedLayerNormalization",
            "SkipLayerNormalization",
            "RMSNormalization",
            "SkipSimplifiedLayerNormalization",
            "RotaryEmbedding",
            "Transpose",
            "Softplus",
            "Reciprocal",
            "Abs",
            "Clip",
            "Dropout",
            "Slice",
            "Tile",
            "Expand");

    /** Attention ops whose output is [batch, sequence, hidden]. */
    public static final Set<String> ATTENTION = Set.of("Attention", "MultiHeadAttention", "GroupQueryAttention");

    private OpOutputs() {}

    /** Whether {@code opType}'s output is BOOL. */
    public static boolean isBool(String opType) {
        return BOOL_ELEMENTWISE.contains(opType) || BOOL_BROADCAST.contains(opType);
    }

    /**
     * The element type of {@code n}'s first output, given its inputs' types ({@code typeOf} answers 0 for unknown or
     * absent tensors); 0 when it cannot be told. Not for {@code Constant}, whose value says it.
     */
    public static int elementType(Node n, ToIntFunction<String> typeOf) {
        String op = n.opType();
        if (isBool(op)) {
            return DataType.BOOL_VALUE;
        }
        if (INT64_OUTPUT.contains(op)) {
            return DataType.INT64_VALUE;
        }
        switch (op) {
            case "Cast":
                return (int) Attributes.getInt(n, "to", 0);
            case "CastLike":
            case "Where":
            case "DequantizeLinear":
                return typeOf.applyAsInt(n.input(1));
            case "ConstantOfShape":
                return Attributes.getTensor(n, "value")
                        .map(TensorProto::getDataType)
                        .orElse(DataType.FLOAT_VALUE);
            case "EmbedLayerNormalization":
            case BlockQuantized.MATMUL_NBITS:
                return typeOf.applyAsInt(n.input(2));
            default:
                int t = typeOf.applyAsInt(n.input(0));
                return t == 0 && n.inputs().size() > 1 ? typeOf.applyAsInt(n.input(1)) : t;
        }
    }

    /**
     * The rank of {@code n}'s first output, given its inputs' ranks ({@code rankOf}, -1 when unknown) and the
     * lengths of 1-D constants ({@code constantLength}, -1 when not one, for Reshape's shape); -1 when it cannot be
     * told.
     */
    public static int rank(Node n, ToIntFunction<String> rankOf, ToIntFunction<String> constantLength) {
        String op = n.opType();
        int r0 = rankOf.applyAsInt(n.input(0));
        if (SAME_RANK.contains(op) || BOOL_ELEMENTWISE.contains(op)) {
            return r0;
        }
        if (BROADCAST.contains(op) || BOOL_BROADCAST.contains(op) || op.equals("MatMul") || op.equals("FusedMatMul")) {
            int r = 0;
            for (String in : n.inputs()) {
                if (in.isEmpty()) {
                    continue;
                }
                int ri = rankOf.applyAsInt(in);
                if (ri < 0) {
                    return -1;
                }
                r = Math.max(r, ri);
            }
            return r;
        }
        if (op.equals("Gather")) {
            int r1 = rankOf.applyAsInt(n.input(1));
            return r0 >= 0 && r1 >= 0 ? r0 - 1 + r1 : -1;
        }
        if (op.equals("Reshape")) {
            return constantLength.applyAsInt(n.input(1));
        }
        if (op.equals("Shape")) {
            return 1;
        }
        return ATTENTION.contains(op) ? 3 : -1;
    }
}
