package dev.rectify.autodiff;

import java.util.Map;
import java.util.Set;

/**
 * The outcome of {@link Autodiff#differentiate}.
 *
 * @param gradients wrt tensor name → name of the tensor holding its gradient (same shape and type), in request order
 * @param unreached wrt tensors with no differentiable path to any seed: their gradient is an explicit zero tensor
 */
public record GradientResult(Map<String, String> gradients, Set<String> unreached) {
    public GradientResult {
        gradients = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(gradients));
        unreached = java.util.Collections.unmodifiableSet(new java.util.LinkedHashSet<>(unreached));
    }

    /** A result where every wrt tensor is reached. */
    public GradientResult(Map<String, String> gradients) {
        this(gradients, Set.of());
    }

    /** The gradient tensor of {@code wrt}; an error when it was not requested. */
    public String gradientOf(String wrt) {
        String g = gradients.get(wrt);
        if (g == null) {
            throw new dev.rectify.core.InvalidArgumentException("no gradient was requested for '" + wrt + "'");
        }
        return g;
    }
}
