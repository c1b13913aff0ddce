package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode differentiation of one graph: finds the nodes on a differentiable path from a wrt tensor to a seed
 * (forward reachability from wrt ∩ backward reachability from the seeds, never through stop edges, integer or bool
 * tensors, or {@link GradientRequest#stopGradient()} tensors), then applies the rules in reverse topological order,
 * summing the contributions to each tensor with a {@code Sum} node.
 */
final class Engine {
    /** Receives gradient contributions. */
    interface Sink {
        void add(String tensor, String gradient);
    }

    private final OpRegistry ops;
    private final Graph graph;
    private final GradientRequest request;
    private final int opset;
    private final Map<String, List<String>> contributions = new LinkedHashMap<>();
    private final Map<String, String> accumulated = new HashMap<>();
    private Emitter em;
    private TensorInfo info;

    Engine(OpRegistry ops, Graph graph, GradientRequest request, int opset) {
        this.ops = ops;
        this.graph = graph;
        this.request = request;
        this.opset = opset;
    }

    GradientResult run() {
        List<Node> order = graph.topologicalOrder();
        info = TensorInfo.infer(graph, order, opset, ops);
        Set<String> known = graph.tensorNames();
        for (String s : request.seeds().keySet()) {
            if (!known.contains(s)) {
                throw new InvalidArgumentException("seed tensor '" + s + "' is not in graph '" + graph.name() + "'");
            }
            String g = request.seeds().get(s);
            if (!g.equals(GradientRequest.ONES) && !known.contains(g)) {
                throw new InvalidArgumentException("the gradient given for seed '" + s + "' names tensor '" + g
                        + "', which is not in graph '" + graph.name() + "'");
            }
        }
        for (String w : request.wrt()) {
            if (!known.contains(w)) {
                throw new InvalidArgumentException("wrt tensor '" + w + "' is not in graph '" + graph.name() + "'");
            }
        }
        Set<String> stop = request.stopGradient();

        // forward reachability from wrt
        Set<String> fwd = new HashSet<>();
        for (String w : request.wrt()) {
            if (!stop.contains(w)) {
                fwd.add(w);
            }
        }
        Set<Node> fwdNodes = new HashSet<>();
        for (Node n : order) {
            boolean hit = false;
            for (int i = 0; i < n.inputs().size() && !hit; i++) {
                hit = fwd.contains(n.input(i)) && differentiable(n, i, stop);
            }
            if (hit) {
                fwdNodes.add(n);
                for (String o : n.outputs()) {
                    if (!o.isEmpty() && !stop.contains(o) && !knownNonFloat(o)) {
                        fwd.add(o);
                    }
                }
            }
        }
        // backward reachability from the seeds
        Set<String> bwd = new HashSet<>(request.seeds().keySet());
        List<Node> path = new ArrayList<>();
        for (int k = order.size() - 1; k >= 0; k--) {
            Node n = order.get(k);
            boolean hit = false;
            for (String o : n.outputs()) {
                hit |= !o.isEmpty() && bwd.contains(o) && !stop.contains(o);
            }
            if (!hit) {
                continue;
            }
            for (int i = 0; i < n.inputs().size(); i++) {
                if (differentiable(n, i, stop)) {
                    bwd.add(n.input(i));
                }
            }
            if (fwdNodes.contains(n)) {
                path.add(n); // reverse topological order
            }
        }
        for (Node n : path) {
            if (!ops.spec(n).map(OpSpec::hasGradient).orElse(false)) {
                throw ops.unsupported(n, "");
            }
        }

        em = new Emitter(graph, opset, info);
        for (Map.Entry<String, String> s : request.seeds().entrySet()) {
            if (!fwd.contains(s.getKey())) {
                continue; // no wrt tensor reaches this seed
            }
            String g = s.getValue();
            if (g.equals(GradientRequest.ONES)) {
                g = ones(s.getKey());
            }
            add(s.getKey(), g);
        }
        for (Node n : path) {
            String[] outGrads = new String[n.outputs().size()];
            boolean any = false;
            for (int i = 0; i < outGrads.length; i++) {
                String o = n.output(i);
                if (!o.isEmpty() && fwd.contains(o) && !stop.contains(o)) {
                    outGrads[i] = accumulate(o);
                    any |= outGrads[i] != null;
                }
            }
            if (!any) {
                continue;
            }
            boolean[] needs = new boolean[n.inputs().size()];
            for (int i = 0; i < needs.length; i++) {
                needs[i] = fwd.contains(n.input(i)) && bwd.contains(n.input(i)) && differentiable(n, i, stop);
            }
            em.prefix(nodeName(n) + "_Grad/");
            GradientContext ctx = new GradientContext(em, ops, n, needs, outGrads, this::add);
            ops.spec(n).orElseThrow().gradient().apply(ctx);
        }
        em.prefix("Grad/");
        Map<String, String> out = new LinkedHashMap<>();
        Set<String> unreached = new LinkedHashSet<>();
        for (String w : request.wrt()) {
            String g = fwd.contains(w) ? accumulate(w) : null;
            String name = w + "_grad";
            if (g == null) {
                unreached.add(w);
                em.prefix(w + "_Grad/");
                GradientContext ctx = new GradientContext(
                        em, ops, Node.of("Identity", List.of(w), List.of()), new boolean[1], new String[0], this::add);
                String z = ctx.zerosLike(w);
                g = identity(z, w);
            } else if (!g.startsWith(name) || g.startsWith(name + ".")) {
                g = identity(g, w);
            }
            out.put(w, g);
        }
        return new GradientResult(out, unreached);
    }

    private String identity(String g, String w) {
        String out = em.fresh(w + "_grad");
        em.node("", "Identity", List.of(g), List.of(out)).name(em.fresh("Grad/" + w + "_Identity"));
        return out;
    }

    private String ones(String loss) {
        int type = info.type(loss);
        if (type == 0) {
            type = DataType.FLOAT_VALUE;
        }
        em.prefix(loss + "_Grad/");
        String one = em.scalar(1.0, type, loss);
        if (info.rank(loss) == 0) {
            return one;
        }
        return em.op("Expand", one, em.shapeOf(loss));
    }

    private void add(String tensor, String grad) {
        if (accumulated.containsKey(tensor)) {
            throw new IllegalStateException("gradient of '" + tensor + "' received after it was summed");
        }
        contributions.computeIfAbsent(tensor, k -> new ArrayList<>()).add(grad);
    }

    private String accumulate(String t) {
        if (accumulated.containsKey(t)) {
            return accumulated.get(t);
        }
        List<String> c = contributions.get(t);
        String g = null;
        if (c != null && c.size() == 1) {
            g = c.get(0);
        } else if (c != null && c.size() > 1) {
            g = em.fresh(t + "_grad");
            em.node("", "Sum", c, List.of(g)).name(em.fresh("Grad/" + t + "_AccumulateGrad"));
            info.put(g, info.type(t), info.shape(t));
        }
        accumulated.put(t, g);
        return g;
    }

    private boolean knownNonFloat(String t) {
        int type = info.type(t);
        return type != 0 && !TensorInfo.isFloat(type);
    }

    private boolean differentiable(Node n, int i, Set<String> stop) {
        String in = n.input(i);
        return !in.isEmpty() && !stop.contains(in) && !knownNonFloat(in) && ops.differentiable(n, i);
    }

    static String nodeName(Node n) {
        if (!n.name().isEmpty()) {
            return n.name();
        }
        return n.opType() + "_" + (n.outputs().isEmpty() ? "" : n.output(0));
    }
}
