package dev.rectify.autodiff;

import dev.rectify.onnx.Node;
import java.util.HashSet;
import java.util.Set;

/**
 * The backward rule of one op type: given the gradients of a forward node's outputs, it emits nodes computing the
 * gradients of the inputs that need one ({@link GradientContext#requiresGradient}) and reports them with
 * {@link GradientContext#addInputGradient}. Input gradients must have the input's shape and element type.
 */
@FunctionalInterface
public interface GradientRule {
    /** Emits the backward nodes for {@code ctx.node()}. */
    void apply(GradientContext ctx);

    /**
     * Whether input {@code index} of {@code node} can carry a gradient at all. Inputs that cannot (indices, shapes,
     * axes, masks) are never differentiated through, so nothing upstream of them is visited. Integer and bool
     * tensors are excluded regardless. {@link Autodiff#withRule} narrows the op's {@link OpSpec#inputs()} with
     * this; built-in ops declare their inputs in their {@link OpSpec} instead.
     */
    default boolean isDifferentiableInput(Node node, int index) {
        return true;
    }

    /** A rule whose inputs {@code differentiable} (by index) are the only ones that may carry gradient. */
    static GradientRule withInputs(GradientRule rule, int... differentiable) {
        Set<Integer> ok = new HashSet<>();
        for (int i : differentiable) {
            ok.add(i);
        }
        return new GradientRule() {
            @Override
            public void apply(GradientContext ctx) {
                rule.apply(ctx);
            }

            @Override
            public boolean isDifferentiableInput(Node node, int index) {
                return ok.contains(index);
            }
        };
    }
}
