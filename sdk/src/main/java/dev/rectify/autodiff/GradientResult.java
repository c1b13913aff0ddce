package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
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
        gradients = Collections.unmodifiableMap(new LinkedHashMap<>(gradients));
        unreached = Collections.unmodifiableSet(new LinkedHashSet<>(unreached));
    }

    /** A result where every wrt tensor is reached. */
    public GradientResult(Map<String, String> gradients) {
        this(gradients, Set.of());
    }

    /** The gradient tensor of {@code wrt}; an error when it was not requested. */
    public String gradientOf(String wrt) {
        String g = gradients.get(wrt);
        if (g == null) {
            throw new InvalidArgumentException("no gradient was requested for '" + wrt + "'");
        }
        return g;
    }
}
