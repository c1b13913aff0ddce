package dev.rectify.train;

import dev.rectify.autodiff.Autodiff;
import dev.rectify.autodiff.GradientRequest;
import dev.rectify.onnx.Graph;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@link Differentiator} over {@link Autodiff#withDefaultRules()}. */
final class AutodiffDifferentiator implements Differentiator {
    static final AutodiffDifferentiator INSTANCE = new AutodiffDifferentiator();

    private AutodiffDifferentiator() {
    }

    @Override
    public Map<String, String> differentiate(Graph graph, int opset, Map<String, String> seeds, List<String> wrt) {
        return Autodiff.withDefaultRules().differentiate(graph, opset, new GradientRequest(seeds, wrt, Set.of()))
                .gradients();
    }
}
