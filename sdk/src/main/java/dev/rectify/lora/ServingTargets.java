package dev.rectify.lora;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What the serving-graph builders share: addressable node names and the projections an adapter may target. */
final class ServingTargets {
    private ServingTargets() {}

    /**
     * Gives every unnamed or duplicate-named node of {@code g} a unique name starting with {@code prefix} (serving
     * graphs find projections by node name) and returns the nodes by name.
     */
    static Map<String, Node> nameNodesUniquely(Graph g, String prefix) {
        Map<String, Node> byName = new HashMap<>();
        for (Node n : g.nodes()) {
            if (n.name().isEmpty() || byName.containsKey(n.name())) {
                n.name(g.uniqueName(prefix + n.opType()));
            }
            byName.put(n.name(), n);
        }
        return byName;
    }

    /** The projections of {@code g} whose module name ends in one of {@code targetModules}. */
    static List<LoraTarget> projections(Graph g, Set<String> targetModules) {
        LoraConfig cfg = LoraConfig.builder()
                .rank(1)
                .alpha(1)
                .targetModules(targetModules)
                .build();
        return LoraInjector.of(cfg).findTargets(g);
    }
}
