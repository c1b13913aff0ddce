package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gradient checkpointing per decoder layer, as a rewrite of the differentiated training graph: the backward nodes
 * of layer L no longer read the activations its forward kept; they read a copy of the layer's forward recomputed
 * from the layer's inputs (the hidden state entering the layer, and whatever else it reads from outside: masks,
 * rotary tables, weights). The recomputation is gated on the gradient of the layer's output (its inputs pass
 * through {@code Where(g, x, x)} with g computed from that gradient's size), so ONNX Runtime runs it during the
 * backward pass, layer by layer, and frees the forward activations as soon as the forward has used them.
 * <p>Layers are found by node names ({@code /model/layers.3/...}, {@code /h.3/...}, LoRA's
 * {@code /lora/model.layers.3.self_attn.q_proj/...}). The recomputed forward is the same ops on the same inputs,
 * so gradients are unchanged. Costs about one more forward per step.
 */
final class GradientCheckpointing {
    private static final Pattern LAYER = Pattern.compile("(?:^|[/.])(?:layers|layer|h|blocks)[./](\\d+)(?=[/.])");

    private GradientCheckpointing() {}

    /** The forward nodes of each decoder layer, by layer index, in graph order. */
    static Map<Integer, List<Node>> layers(Graph g) {
        Map<Integer, List<Node>> out = new TreeMap<>();
        for (Node n : g.nodes()) {
            Matcher m = LAYER.matcher(n.name());
            if (m.find()) {
                out.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new ArrayList<>())
                        .add(n);
            }
        }
        return out;
    }

    /**
     * Each layer's output, whose gradient gates the layer's recomputation: the float tensor made by the layer's last
     * node (in topological order) among those read by nodes outside the layer. Only layers the loss gradient passes
     * through ({@code onPath}) are kept.
     */
    static Map<Integer, String> outputs(Graph g, Map<Integer, List<Node>> layers, Set<String> onPath) {
        Map<Integer, String> out = new LinkedHashMap<>();
        Map<String, List<Node>> consumers = g.consumerIndex();
        List<Node> order = g.topologicalOrder();
        Map<Node, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            position.put(order.get(i), i);
        }
        for (Map.Entry<Integer, List<Node>> e : layers.entrySet()) {
            Set<Node> inLayer = Collections.newSetFromMap(new IdentityHashMap<>());
            inLayer.addAll(e.getValue());
            String best = null;
            int bestAt = -1;
            for (Node n : e.getValue()) {
                for (String o : n.outputs()) {
                    if (o.isEmpty() || !onPath.contains(o)) {
                        continue;
                    }
                    boolean leaves =
                            consumers.getOrDefault(o, List.of()).stream().anyMatch(c -> !inLayer.contains(c));
                    int at = position.getOrDefault(n, -1);
                    if (leaves && at > bestAt) {
                        best = o;
                        bestAt = at;
                    }
                }
            }
            if (best != null) {
                out.put(e.getKey(), best);
            }
        }
        return out;
    }

    /** Float tensors computed from {@code from} (forward reachability through the graph's nodes). */
    static Set<String> downstream(Graph g, List<String> from) {
        Set<String> reach = new HashSet<>(from);
        for (Node n : g.topologicalOrder()) {
            if (n.inputs().stream().anyMatch(reach::contains)) {
                n.outputs().stream().filter(o -> !o.isEmpty()).forEach(reach::add);
            }
        }
        return reach;
    }

    /**
     * Rewires the backward nodes (those not in {@code forward}) of every layer in {@code outputs} to a recomputed
     * copy of the layer, gated on {@code outputGradients} (layer → gradient tensor of its output). Nodes that
     * {@code keep} accepts are not recomputed: the copy reads their forward outputs, which the forward then keeps
     * (see {@link #weightProducts}). Returns the number of layers rewritten.
     */
    static int apply(
            Graph g,
            Set<Node> forward,
            Map<Integer, List<Node>> layers,
            Map<Integer, String> outputs,
            Map<Integer, String> outputGradients,
            Predicate<Node> keep) {
        Map<String, Node> producers = g.producerIndex();
        Map<String, List<Node>> consumers = g.consumerIndex();
        int done = 0;
        for (Map.Entry<Integer, List<Node>> e : layers.entrySet()) {
            String grad = outputGradients.get(e.getKey());
            if (grad == null) {
                continue;
            }
            List<Node> layer = e.getValue();
            Set<Node> inLayer = Collections.newSetFromMap(new IdentityHashMap<>());
            inLayer.addAll(layer);
            Set<String> made = new HashSet<>();
            layer.forEach(n -> n.outputs().stream().filter(o -> !o.isEmpty()).forEach(made::add));
            // activations the backward reads: made in the layer, not read by forward nodes outside it
            Set<String> saved = new HashSet<>();
            List<Node> readers = new ArrayList<>();
            for (Node b : g.nodes()) {
                if (forward.contains(b)) {
                    continue;
                }
                boolean reads = false;
                for (String in : b.inputs()) {
                    if (made.contains(in) && !leavesLayer(in, consumers, inLayer, forward, g)) {
                        saved.add(in);
                        reads = true;
                    }
                }
                if (reads) {
                    readers.add(b);
                }
            }
            if (saved.isEmpty()) {
                continue;
            }
            // the part of the layer that makes them
            Set<Node> needed = Collections.newSetFromMap(new IdentityHashMap<>());
            ArrayDeque<String> todo = new ArrayDeque<>(saved);
            while (!todo.isEmpty()) {
                Node p = producers.get(todo.pop());
                if (p == null || !inLayer.contains(p) || keep.test(p) || !needed.add(p)) {
                    continue;
                }
                todo.addAll(p.inputs());
            }
            String prefix = "/recompute/layer" + e.getKey() + "/";
            ObjectiveHead.Ops o = new ObjectiveHead.Ops(g, prefix);
            String size = o.op("Size", List.of(grad), "grad_size").output(0);
            String zero = o.constant(Tensors.scalar("", 0L));
            String gate = o.op(
                            "Not",
                            List.of(o.op("Less", List.of(size, zero), "never").output(0)),
                            "gate")
                    .output(0);
            Map<String, String> renamed = new HashMap<>();
            List<Node> copies = new ArrayList<>();
            for (Node n : layer) {
                if (!needed.contains(n)) {
                    continue;
                }
                Node c = n.copy();
                for (int i = 0; i < c.inputs().size(); i++) {
                    String in = c.input(i);
                    if (in.isEmpty()) {
                        continue;
                    }
                    if (renamed.containsKey(in)) {
                        c.inputs().set(i, renamed.get(in));
                    } else if (!made.contains(in) && producers.containsKey(in) && !isConstant(producers.get(in))) {
                        // an activation from outside the layer: read it only once the gradient has arrived
                        String gated = renamed.computeIfAbsent(
                                "gate:" + in,
                                k -> o.op("Where", List.of(gate, in, in), "input")
                                        .output(0));
                        c.inputs().set(i, gated);
                    }
                }
                for (int i = 0; i < c.outputs().size(); i++) {
                    String out = c.output(i);
                    if (!out.isEmpty()) {
                        String r = g.uniqueName(prefix + out);
                        renamed.put(out, r);
                        c.outputs().set(i, r);
                    }
                }
                c.name(g.uniqueName(prefix + n.name()));
                copies.add(c);
            }
            copies.forEach(g::addNode);
            for (Node b : readers) {
                for (int i = 0; i < b.inputs().size(); i++) {
                    String in = b.input(i);
                    if (saved.contains(in)) {
                        b.inputs().set(i, renamed.getOrDefault(in, in)); // a kept output is read as it is
                    }
                }
            }
            done++;
        }
        g.sortTopologically();
        return done;
    }

    /**
     * The products of an activation with a weight matrix ({@code MatMul}, {@code Gemm}, {@code com.microsoft
     * FusedMatMul} reading one of {@code weights} directly or through a {@code Transpose}): where a layer's compute
     * is, so {@link Checkpointing#SELECTIVE} keeps their outputs instead of recomputing them.
     */
    static Predicate<Node> weightProducts(Graph g, Set<String> weights) {
        Map<String, Node> producers = g.producerIndex();
        return n -> {
            boolean product = n.opType().equals("MatMul") && n.isDefaultDomain()
                    || n.opType().equals("Gemm") && n.isDefaultDomain()
                    || n.opType().equals("FusedMatMul") && "com.microsoft".equals(n.domain());
            if (!product) {
                return false;
            }
            for (int i = 0; i < Math.min(2, n.inputs().size()); i++) {
                String in = n.input(i);
                Node p = producers.get(in);
                if (weights.contains(in)
                        || p != null
                                && p.opType().equals("Transpose")
                                && p.isDefaultDomain()
                                && weights.contains(p.input(0))) {
                    return true;
                }
            }
            return false;
        };
    }

    private static boolean isConstant(Node n) {
        return n.opType().equals("Constant") && n.isDefaultDomain();
    }

    /** Whether {@code t} is read by a forward node outside the layer, or is a graph output (so it is kept anyway). */
    private static boolean leavesLayer(
            String t, Map<String, List<Node>> consumers, Set<Node> inLayer, Set<Node> forward, Graph g) {
        if (g.isOutput(t)) {
            return true;
        }
        for (Node c : consumers.getOrDefault(t, List.of())) {
            if (forward.contains(c) && !inLayer.contains(c)) {
                return true;
            }
        }
        return false;
    }
}
