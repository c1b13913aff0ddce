package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.Node;
import java.util.Arrays;

/**
 * Everything autodiff knows about one op, registered once: its type and domain, which inputs can carry a gradient,
 * how its output types and shapes follow from its inputs, and its gradient rule (none for ops through which no
 * gradient flows, such as Shape or Equal). Built with withers:
 *
 * <pre>{@code
 * OpSpec.of("Clip").shape(ShapeFunctions.SAME).inputs(Inputs.only(0)).gradient(ElementwiseRules::clip)
 * }</pre>
 *
 * @param domain   "" for the default ONNX domain (also written "ai.onnx"), else e.g. "com.microsoft"
 * @param opType   the op type
 * @param inputs   which inputs may carry a gradient (integer and bool tensors never do, whatever this says)
 * @param shape    output type and shape inference
 * @param gradient the backward rule; null when the op has none
 */
public record OpSpec(String domain, String opType, Inputs inputs, ShapeFunction shape, GradientRule gradient) {
    public OpSpec {
        if (opType == null || opType.isEmpty()) {
            throw new InvalidArgumentException("an op spec needs an op type");
        }
        domain = domain == null || domain.equals("ai.onnx") ? "" : domain;
        inputs = inputs == null ? Inputs.ALL : inputs;
        shape = shape == null ? ShapeFunction.UNKNOWN : shape;
    }

    /**
     * The spec of {@code key} ("Add" for an ONNX op, "com.microsoft:FusedMatMul" otherwise) with every input
     * differentiable, nothing inferred and no gradient rule.
     */
    public static OpSpec of(String key) {
        int colon = key.lastIndexOf(':');
        return colon < 0 ? of("", key) : of(key.substring(0, colon), key.substring(colon + 1));
    }

    /** Like {@link #of(String)} with the domain apart. */
    public static OpSpec of(String domain, String opType) {
        return new OpSpec(domain, opType, Inputs.ALL, ShapeFunction.UNKNOWN, null);
    }

    /** The registry key: "Add" for ONNX ops, "domain:Op" for others. */
    public String key() {
        return key(domain, opType);
    }

    static String key(String domain, String opType) {
        return domain == null || domain.isEmpty() || domain.equals("ai.onnx") ? opType : domain + ":" + opType;
    }

    public boolean hasGradient() {
        return gradient != null;
    }

    /** Whether input {@code i} of {@code node} (an instance of this op) may carry a gradient. */
    public boolean differentiable(Node node, int i) {
        return inputs.test(node, i);
    }

    public OpSpec inputs(Inputs differentiable) {
        return new OpSpec(domain, opType, differentiable, shape, gradient);
    }

    public OpSpec shape(ShapeFunction inference) {
        return new OpSpec(domain, opType, inputs, inference, gradient);
    }

    public OpSpec gradient(GradientRule rule) {
        return new OpSpec(domain, opType, inputs, shape, rule);
    }

    /** No input carries a gradient and there is no rule: gradient flow stops at this op. */
    public OpSpec noGradient() {
        return new OpSpec(domain, opType, Inputs.NONE, shape, null);
    }

    /** Which inputs of a node may carry a gradient. */
    @FunctionalInterface
    public interface Inputs {
        Inputs ALL = (node, i) -> true;
        Inputs NONE = (node, i) -> false;

        boolean test(Node node, int index);

        /** Only the inputs at {@code indices} (the others are indices, shapes, axes, masks...). */
        static Inputs only(int... indices) {
            int[] ok = indices.clone();
            return (node, i) -> Arrays.stream(ok).anyMatch(k -> k == i);
        }

        /** Every input except those at {@code indices}. */
        static Inputs allBut(int... indices) {
            Inputs only = only(indices);
            return (node, i) -> !only.test(node, i);
        }

        /** Inputs allowed by both. */
        default Inputs and(Inputs other) {
            return (node, i) -> test(node, i) && other.test(node, i);
        }
    }
}
