package dev.rectify.canon;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Carries a graph written at ONNX opset 11 or 12 to opset {@value #TARGET}, the opset ONNX Runtime's training
 * graphs are built at, op by op, so that exports made for older runtimes (ONNX Runtime's transformers optimizer
 * writes opset 11) can be trained. Each op whose signature or meaning changed between the two opsets is rewritten to
 * compute exactly the same outputs at {@value #TARGET}:
 * <ul>
 *   <li>Squeeze, Unsqueeze, ReduceSum: the {@code axes} attribute becomes an int64 input (13);</li>
 *   <li>Split: the {@code split} attribute becomes an int64 input (13);</li>
 *   <li>Softmax, LogSoftmax, Hardmax: before 13 the input is coerced to 2-D at {@code axis} (default 1); from 13
 *       the op works along one axis (default -1). A last-axis op keeps its node with the axis written out; any
 *       other becomes Flatten → op → Reshape to the input's shape;</li>
 *   <li>Dropout: the {@code ratio} attribute becomes a float input (12).</li>
 * </ul>
 * Every other op of opsets 12 and 13 only widened its types or added attributes whose defaults keep the old meaning.
 * Upsample and Resize's {@code tf_half_pixel_for_nn} no longer exist at 13 and are refused
 * ({@link OpsetUpgradeException}). Nodes in control-flow subgraphs are upgraded too. Inference keeps the original
 * graph; only training graphs are upgraded.
 *
 * <pre>{@code
 * OpsetUpgrade.Report r = OpsetUpgrade.upgrade(graph, model.opsetVersion(""));
 * }</pre>
 */
public final class OpsetUpgrade {
    /** The default-domain opset upgraded graphs have. */
    public static final int TARGET = 13;
    /** The oldest opset upgraded. */
    public static final int OLDEST = 11;

    private static final Set<String> AXES_TO_INPUT = Set.of("Squeeze", "Unsqueeze", "ReduceSum");
    private static final Set<String> SOFTMAX_LIKE = Set.of("Softmax", "LogSoftmax", "Hardmax");

    private final Graph root;
    private final int from;
    private final Map<String, Integer> counts = new TreeMap<>();

    private OpsetUpgrade(Graph root, int from) {
        this.root = root;
        this.from = from;
    }

    /** What an upgrade did: rewritten node counts by op type (ops kept unchanged are not counted). */
    public record Report(int from, int to, Map<String, Integer> rewritten) {
        /** Nodes rewritten in all. */
        public int total() {
            return rewritten.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    /**
     * Upgrades {@code graph} (edited in place), written at default-domain {@code opset}, to {@value #TARGET}. A graph
     * already at {@value #TARGET} or later is left as it is (the report then says {@code to == opset}).
     *
     * @throws OpsetUpgradeException for an opset older than {@value #OLDEST} or an op with no equivalent at
     *                               {@value #TARGET} (the graph may then be partly rewritten)
     */
    public static Report upgrade(Graph graph, int opset) {
        if (opset >= TARGET) {
            return new Report(opset, opset, Map.of());
        }
        if (opset < OLDEST) {
            throw new OpsetUpgradeException(
                    opset,
                    TARGET,
                    "Rectify upgrades opsets " + OLDEST + " and 12 only",
                    "Re-export the model at opset " + TARGET + " or later (torch.onnx.export(..., opset_version=17))");
        }
        OpsetUpgrade u = new OpsetUpgrade(graph, opset);
        u.upgradeGraph(graph);
        return new Report(opset, TARGET, Collections.unmodifiableMap(u.counts));
    }

    /**
     * {@code model} with its main graph upgraded and its default-domain opset import set to {@value #TARGET} (IR
     * version at least 7); {@code model} itself when it is at {@value #TARGET} or later.
     */
    public static OnnxModel upgrade(OnnxModel model) {
        int opset = model.opsetVersion("");
        if (opset >= TARGET) {
            return model;
        }
        Graph g = model.graph();
        upgrade(g, opset);
        return OnnxModel.of(withOpset(model.proto().toBuilder().setGraph(g.toProto()), TARGET)
                .build());
    }

    /** {@code b} with its default-domain opset import replaced by {@code opset} (and IR version at least 7). */
    public static ModelProto.Builder withOpset(ModelProto.Builder b, int opset) {
        List<OperatorSetIdProto> imports = new ArrayList<>(b.getOpsetImportList());
        b.clearOpsetImport();
        boolean set = false;
        for (OperatorSetIdProto o : imports) {
            if (OnnxModel.isDefaultDomain(o.getDomain())) {
                if (!set) {
                    b.addOpsetImport(o.toBuilder().setVersion(opset));
                    set = true;
                }
            } else {
                b.addOpsetImport(o);
            }
        }
        if (!set) {
            b.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset));
        }
        if (b.getIrVersion() < 7) {
            b.setIrVersion(7);
        }
        return b;
    }

    private void upgradeGraph(Graph g) {
        ElementTypes types = ElementTypes.infer(g, g.topologicalOrder());
        for (Node n : List.copyOf(g.nodes())) {
            upgradeSubgraphs(n);
            if (!n.isDefaultDomain()) {
                continue;
            }
            List<Node> replacement = upgradeNode(n, types);
            if (replacement != null) {
                g.replaceNode(n, replacement.toArray(new Node[0]));
                counts.merge(n.opType(), 1, Integer::sum);
            }
        }
    }

    private void upgradeSubgraphs(Node n) {
        for (AttributeProto a : List.copyOf(n.attributes().values())) {
            if (a.hasG()) {
                n.attr(a.toBuilder().setG(upgradeSubgraph(a.getG())).build());
            } else if (a.getGraphsCount() > 0) {
                AttributeProto.Builder b = a.toBuilder().clearGraphs();
                for (GraphProto sg : a.getGraphsList()) {
                    b.addGraphs(upgradeSubgraph(sg));
                }
                n.attr(b.build());
            }
        }
    }

    private GraphProto upgradeSubgraph(GraphProto p) {
        Graph sub = Graph.fromProto(p);
        upgradeGraph(sub);
        return sub.toProto();
    }

    /** The nodes replacing {@code n} at {@value #TARGET}, or null when {@code n} stays as it is. */
    private List<Node> upgradeNode(Node n, ElementTypes types) {
        String op = n.opType();
        if (AXES_TO_INPUT.contains(op)) {
            return attributeToInput(n, "axes", 1);
        }
        if (op.equals("Split")) {
            return attributeToInput(n, "split", 1);
        }
        if (SOFTMAX_LIKE.contains(op)) {
            return softmax(n, types);
        }
        if (op.equals("Dropout") && from < 12) {
            return dropout(n);
        }
        if (op.equals("Upsample")) {
            throw new OpsetUpgradeException(
                    n,
                    from,
                    TARGET,
                    "Upsample is deprecated since opset 10 and has no kernel at 13",
                    "Re-export the model at opset " + TARGET + " or later, where it is written as Resize");
        }
        if (op.equals("Resize")
                && Attributes.getString(n, "coordinate_transformation_mode", "half_pixel")
                        .equals("tf_half_pixel_for_nn")) {
            throw new OpsetUpgradeException(
                    n,
                    from,
                    TARGET,
                    "coordinate_transformation_mode 'tf_half_pixel_for_nn' " + "was removed in opset 13",
                    "Re-export the model at opset " + TARGET + " or later");
        }
        return null;
    }

    /** Moves int attribute(s) {@code name} to an int64 Constant at input {@code index}; null when absent. */
    private List<Node> attributeToInput(Node n, String name, int index) {
        Optional<AttributeProto> a = n.attribute(name);
        if (a.isEmpty()) {
            return null;
        }
        long[] values = Attributes.getInts(n, name, new long[0]);
        n.removeAttribute(name);
        if (values.length == 0) { // an empty list meant the default, as an absent input does
            return List.of(n);
        }
        Node c = constant(n, name, Tensors.ofLongs("", values, values.length));
        List<String> ins = new ArrayList<>(n.inputs());
        while (ins.size() <= index) {
            ins.add("");
        }
        ins.set(index, c.output(0));
        n.inputs(ins.toArray(new String[0]));
        return List.of(c, n);
    }

    /**
     * Softmax-like ops: the old semantics are "flatten to 2-D at {@code axis}, normalize each row". Along the last
     * axis that equals the new single-axis semantics; otherwise flatten, normalize along the last axis, reshape back.
     */
    private List<Node> softmax(Node n, ElementTypes types) {
        long axis = Attributes.getInt(n, "axis", 1);
        int rank = types.rank(n.input(0));
        if (axis == -1 || (rank >= 0 && axis == rank - 1)) {
            n.attr("axis", -1L);
            return List.of(n);
        }
        String x = n.input(0);
        String y = n.output(0);
        String base = prefix(n);
        Node flat = Node.of("Flatten", List.of(x), List.of(root.uniqueName(base + "/flat")))
                .attr("axis", axis)
                .name(root.uniqueName(base + "/Flatten"));
        Node shape = Node.of("Shape", List.of(x), List.of(root.uniqueName(base + "/shape")))
                .name(root.uniqueName(base + "/Shape"));
        String normalized = root.uniqueName(base + "/normalized");
        n.attr("axis", -1L);
        n.inputs(flat.output(0));
        n.outputs(normalized);
        Node back = Node.of("Reshape", List.of(normalized, shape.output(0)), List.of(y))
                .name(root.uniqueName(base + "/Reshape"));
        return List.of(flat, shape, n, back);
    }

    /** Dropout-10: the {@code ratio} attribute becomes Dropout-12's float input. */
    private List<Node> dropout(Node n) {
        if (n.attribute("ratio").isEmpty()) {
            return null;
        }
        float ratio = Attributes.getFloat(n, "ratio", 0.5f);
        n.removeAttribute("ratio");
        Node c = constant(n, "ratio", Tensors.ofFloats("", new float[] {ratio}));
        n.inputs(n.input(0), c.output(0));
        return List.of(c, n);
    }

    private Node constant(Node n, String hint, TensorProto value) {
        String base = prefix(n) + "/" + hint;
        return Node.of("Constant", List.of(), List.of(root.uniqueName(base)))
                .attr("value", value)
                .name(root.uniqueName(base + "/Constant"));
    }

    private static String prefix(Node n) {
        return (n.name().isEmpty() ? n.opType() + "_" + n.output(0) : n.name()) + "/opset" + TARGET;
    }
}
