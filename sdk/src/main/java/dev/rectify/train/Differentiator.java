package dev.rectify.train;

import dev.rectify.onnx.Graph;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode differentiation the artifact builder delegates to: appends backward nodes to {@code graph} in
 * place and returns, for each tensor of {@code wrt}, the name of the tensor holding its gradient.
 */
@FunctionalInterface
public interface Differentiator {
    /**
     * @param seeds tensor → existing tensor holding d(loss)/d(tensor)
     * @param wrt   tensors (trainable parameters) to return gradients for; one with no differentiable path to a
     *              seed is left out of the returned map (the artifact builder then refuses to train it)
     */
    Map<String, String> differentiate(Graph graph, int opset, Map<String, String> seeds, List<String> wrt);

    /** Rectify's own autodiff ({@code dev.rectify.autodiff}). */
    static Differentiator autodiff() {
        return AutodiffDifferentiator.INSTANCE;
    }
}
