package dev.rectify.autodiff;

import java.util.Map;

/**
 * The outcome of {@link Autodiff#differentiate}.
 *
 * @param gradients wrt tensor name → name of the tensor holding its gradient (same shape and type), in request order
 */
public record GradientResult(Map<String, String> gradients) {
    public GradientResult {
        gradients = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(gradients));
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
