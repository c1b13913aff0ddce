package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.NodeProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Makes Optimum's merged decoder trainable: its graph is one {@code If} on the bool input {@code use_cache_branch},
 * {@code then_branch} the decoder with past key/values and {@code else_branch} the one without. Training always
 * runs without a cache, so the {@code If} is replaced by the nodes of its no-cache branch (branch-local names that
 * clash with the outer graph are renamed) and {@code use_cache_branch} is dropped; the past inputs the branch no
 * longer reads are left to {@link EmptyPastFeeder}.
 */
final class NoCacheBranchInliner {
    static final String USE_CACHE_BRANCH = "use_cache_branch";

    private NoCacheBranchInliner() {}

    /** Inlines every {@code If} on {@code use_cache_branch}; returns how many were inlined. */
    static int inline(Graph g) {
        if (!g.isInput(USE_CACHE_BRANCH)) {
            return 0;
        }
        int count = 0;
        for (Node n : List.copyOf(g.nodes())) {
            if (n.isDefaultDomain() && n.opType().equals("If") && n.input(0).equals(USE_CACHE_BRANCH)) {
                inlineElse(g, n);
                count++;
            }
        }
        if (g.consumers(USE_CACHE_BRANCH).isEmpty()
                && g.nodes().stream().noneMatch(x -> x.implicitInputs().contains(USE_CACHE_BRANCH))) {
            g.removeInput(USE_CACHE_BRANCH);
        }
        return count;
    }

    private static void inlineElse(Graph g, Node ifNode) {
        Optional<AttributeProto> attr = ifNode.attribute("else_branch");
        if (attr.isEmpty() || !attr.get().hasG()) {
            throw new UntrainableModelException(ifNode.describe() + " on '" + USE_CACHE_BRANCH
                    + "' has no else_branch (the no-cache decoder); re-export the decoder without past key/values");
        }
        GraphProto branch = attr.get().getG();
        Set<String> outer = g.tensorNames();
        Map<String, String> rename = new HashMap<>();
        for (TensorProto t : branch.getInitializerList()) {
            String name = outer.contains(t.getName()) ? g.uniqueName(t.getName()) : t.getName();
            rename.put(t.getName(), name);
            g.addInitializer(t.toBuilder().setName(name).build());
        }
        for (NodeProto p : branch.getNodeList()) {
            for (String o : p.getOutputList()) {
                if (!o.isEmpty()) {
                    rename.put(o, outer.contains(o) ? g.uniqueName(o) : o);
                }
            }
        }
        List<Node> inlined = new ArrayList<>();
        for (NodeProto p : branch.getNodeList()) {
            Node n = Node.fromProto(p);
            if (!n.subgraphs().isEmpty()
                    && !n.implicitInputs().stream()
                            .allMatch(x -> rename.getOrDefault(x, x).equals(x))) {
                throw new UntrainableModelException("the no-cache branch of " + ifNode.describe() + " holds "
                        + n.describe() + ", whose subgraph reads renamed tensors; re-export the decoder without past "
                        + "key/values (Optimum: --no-post-process) and train from that");
            }
            n.inputs().replaceAll(x -> rename.getOrDefault(x, x));
            n.outputs().replaceAll(x -> rename.getOrDefault(x, x));
            n.name(n.name().isEmpty() ? "" : g.uniqueName("/no_cache/" + n.name()));
            inlined.add(n);
        }
        if (branch.getOutputCount() != ifNode.outputs().size()) {
            throw new UntrainableModelException(ifNode.describe() + ": its else_branch has " + branch.getOutputCount()
                    + " outputs for " + ifNode.outputs().size() + " If outputs");
        }
        for (int i = 0; i < branch.getOutputCount(); i++) {
            String out = ifNode.output(i);
            if (out.isEmpty()) {
                continue;
            }
            String src = branch.getOutput(i).getName();
            inlined.add(Node.of("Identity", List.of(rename.getOrDefault(src, src)), List.of(out))
                    .name(g.uniqueName("/no_cache/output_" + i)));
        }
        g.replaceNode(ifNode, inlined.toArray(new Node[0]));
    }
}
