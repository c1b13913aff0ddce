package dev.rectify.train;

import dev.rectify.autodiff.Autodiff;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which tensors can influence a seed tensor (the logits) through edges that carry gradient: not through shape,
 * index, comparison or integer-cast edges ({@link Autodiff#carriesGradient}). A weight outside that set would get a
 * zero gradient and only weight decay, so training it is refused; a tensor read by an {@code If}/{@code Loop}/{@code
 * Scan} body is reported separately by {@link ControlFlowGuard}.
 */
final class LossPaths {
    private final Set<String> influencing = new HashSet<>();

    private LossPaths(Graph g, String seed) {
        Map<String, Node> producers = g.producerIndex();
        ArrayDeque<String> todo = new ArrayDeque<>(List.of(seed));
        Set<Node> seen = new HashSet<>();
        influencing.add(seed);
        while (!todo.isEmpty()) {
            Node n = producers.get(todo.pop());
            if (n == null || !seen.add(n)) {
                continue;
            }
            for (int i = 0; i < n.inputs().size(); i++) {
                if (Autodiff.carriesGradient(n, i) && influencing.add(n.input(i))) {
                    todo.push(n.input(i));
                }
            }
        }
    }

    /** The paths to {@code seed} in {@code g}. */
    static LossPaths to(Graph g, String seed) {
        return new LossPaths(g, seed);
    }

    /** Whether {@code tensor} can change the seed through differentiable edges. */
    boolean reaches(String tensor) {
        return influencing.contains(tensor);
    }

    /** Those of {@code tensors} that cannot, in order. */
    Set<String> unreached(Collection<String> tensors) {
        Set<String> out = new LinkedHashSet<>();
        for (String t : tensors) {
            if (!reaches(t)) {
                out.add(t);
            }
        }
        return out;
    }
}
