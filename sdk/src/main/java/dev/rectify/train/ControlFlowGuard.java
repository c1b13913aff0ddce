package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import java.util.Collection;
import java.util.HashSet;
import java.util.Set;

/**
 * Refuses to train a parameter whose value flows into an {@code If}, {@code Loop} or {@code Scan} body (read there
 * as an outer-scope tensor): Rectify's autodiff does not differentiate control flow, so that use would add nothing
 * to the gradient and the parameter would train on part of its effect. Optimum's {@code use_cache_branch} {@code If}
 * is inlined before this check ({@link NoCacheBranchInliner}).
 */
final class ControlFlowGuard {
    private ControlFlowGuard() {}

    /** Throws {@link UntrainableModelException} when a value computed from {@code params} is read inside a subgraph. */
    static void check(Graph g, Collection<String> params) {
        Set<String> derived = new HashSet<>(params);
        for (Node n : g.topologicalOrder()) {
            Set<String> implicit = n.implicitInputs();
            for (String in : implicit) {
                if (derived.contains(in)) {
                    String origin = params.contains(in)
                            ? "trainable parameter '" + in + "'"
                            : "tensor '" + in + "', computed from trainable parameters,";
                    throw new UntrainableModelException("the " + origin + " is read inside the subgraph of "
                            + n.describe() + "; gradients are not followed through If/Loop/Scan bodies, so it would "
                            + "train on part of its effect. Export the model without control flow (unrolled, no "
                            + "merged decoder) or leave that parameter out of the selection");
                }
            }
            if (n.inputs().stream().anyMatch(derived::contains)) {
                derived.addAll(n.outputs());
            }
        }
    }
}
