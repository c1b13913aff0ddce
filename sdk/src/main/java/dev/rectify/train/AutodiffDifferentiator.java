package dev.rectify.train;

import dev.rectify.autodiff.Autodiff;
import dev.rectify.autodiff.GradientRequest;
import dev.rectify.autodiff.GradientResult;
import dev.rectify.onnx.Graph;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@link Differentiator} over {@link Autodiff#withDefaultRules()}. */
final class AutodiffDifferentiator implements Differentiator {
    static final AutodiffDifferentiator INSTANCE = new AutodiffDifferentiator();

    private AutodiffDifferentiator() {}

    @Override
    public Map<String, String> differentiate(Graph graph, int opset, Map<String, String> seeds, List<String> wrt) {
        GradientResult r =
                Autodiff.withDefaultRules().differentiate(graph, opset, new GradientRequest(seeds, wrt, Set.of()));
        // a parameter no seed depends on gets no entry (not its zero tensor): the builder refuses to train it
        Map<String, String> out = new LinkedHashMap<>(r.gradients());
        out.keySet().removeAll(r.unreached());
        return out;
    }
}
