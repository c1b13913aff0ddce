package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What to differentiate.
 *
 * @param seeds        tensor name → name of an existing tensor holding dL/d(that tensor), of the same shape and type
 *                     (e.g. a hand-written loss head gives dL/dlogits directly). The value {@link #ONES} ("") asks for
 *                     a constant 1 of the tensor's shape, i.e. the tensor itself is the loss.
 * @param wrt          tensors to return gradients for: graph inputs or initializers (weights; a weight used several
 *                     times gets the sum of its contributions)
 * @param stopGradient tensor names through which no gradient flows (like {@code torch.Tensor.detach()})
 */
public record GradientRequest(Map<String, String> seeds, List<String> wrt, Set<String> stopGradient) {
    /** The seed value meaning "a constant 1 of the seeded tensor's shape". */
    public static final String ONES = "";

    public GradientRequest {
        if (seeds == null || seeds.isEmpty()) {
            throw new InvalidArgumentException("a gradient request needs at least one seed");
        }
        if (wrt == null || wrt.isEmpty()) {
            throw new InvalidArgumentException(
                    "a gradient request needs at least one tensor to differentiate with respect to");
        }
        seeds = Collections.unmodifiableMap(new LinkedHashMap<>(seeds));
        wrt = List.copyOf(wrt);
        stopGradient = stopGradient == null ? Set.of() : Set.copyOf(stopGradient);
        if (wrt.stream().distinct().count() != wrt.size()) {
            throw new InvalidArgumentException("wrt lists a tensor twice: " + wrt);
        }
    }

    /** d(loss)/d(wrt) for a scalar float loss: the seed is a constant 1 of the loss's shape. */
    public static GradientRequest ofScalarLoss(String loss, List<String> wrt) {
        return new GradientRequest(Map.of(loss, ONES), wrt, Set.of());
    }

    /** This request with {@code tensors} added to {@link #stopGradient()}. */
    public GradientRequest withStopGradient(Set<String> tensors) {
        HashSet<String> s = new HashSet<>(stopGradient);
        s.addAll(tensors);
        return new GradientRequest(seeds, wrt, s);
    }
}
