package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.OpsetAwareInputs;
import java.util.Optional;
import java.util.Set;

/**
 * Reverse-mode automatic differentiation of ONNX graphs: appends backward nodes (standard ONNX ops valid at the
 * graph's opset, plus {@code com.microsoft} gradient kernels that ONNX Runtime's training build runs on CPU) to a
 * graph and returns the names of the gradient tensors. Models using the result must import {@code com.microsoft}
 * version 1. Immutable; {@link #withRule} returns a copy.
 *
 * <pre>{@code
 * GradientResult r = Autodiff.withDefaultRules()
 *     .differentiate(graph, opset, GradientRequest.ofScalarLoss("loss", List.of("W", "b")));
 * String dW = r.gradients().get("W");
 * }</pre>
 */
public final class Autodiff {
    private static final OpRegistry DEFAULT = defaultRegistry();
    private final OpRegistry ops;

    private Autodiff(OpRegistry ops) {
        this.ops = ops;
    }

    /** Every built-in op: one {@link OpSpec} per op, registered once. */
    private static OpRegistry defaultRegistry() {
        OpRegistry.Builder m = OpRegistry.builder();
        ElementwiseRules.register(m);
        ActivationRules.register(m);
        MatMulRules.register(m);
        ShapeRules.register(m);
        ReductionRules.register(m);
        NormalizationRules.register(m);
        QuantizedRules.register(m);
        ShapeOnlyOps.register(m);
        return m.build();
    }

    /** A registry holding every built-in op and rule (see {@link #supportedOps()}). */
    public static Autodiff withDefaultRules() {
        return new Autodiff(DEFAULT);
    }

    /**
     * A copy with {@code rule} for {@code domain}:{@code opType} ("" or "ai.onnx" for ONNX), replacing any. An op
     * known already keeps its shape inference and its non-differentiable inputs; the rule's
     * {@link GradientRule#isDifferentiableInput} may exclude more.
     */
    public Autodiff withRule(String domain, String opType, GradientRule rule) {
        return new Autodiff(ops.withRule(domain, opType, rule));
    }

    /**
     * A copy with {@code spec} (a custom op's gradient rule, differentiable inputs and shape inference), replacing
     * any spec of the same op.
     */
    public Autodiff withOp(OpSpec spec) {
        if (spec == null) {
            throw new InvalidArgumentException("withOp needs a spec");
        }
        return new Autodiff(ops.with(spec));
    }

    /**
     * Whether input {@code i} of {@code node} can carry gradient at all under the built-in ops: false for edges
     * that never do (indices, shapes, comparisons, integer casts, Gather's indices, ...).
     */
    public static boolean carriesGradient(Node node, int i) {
        return !node.input(i).isEmpty() && DEFAULT.differentiable(node, i);
    }

    /** Names of the ops with rules, sorted: "Add" for ONNX ops, "com.microsoft:GatherGrad" style for others. */
    public Set<String> supportedOps() {
        return ops.supportedOps();
    }

    /** The op table this instance differentiates with. */
    OpRegistry registry() {
        return ops;
    }

    /** The spec registered for {@code domain}:{@code opType} ("" or "ai.onnx" for ONNX). */
    public Optional<OpSpec> spec(String domain, String opType) {
        return ops.spec(domain, opType);
    }

    /**
     * Appends backward nodes to {@code graph} (mutated in place) and returns the gradient tensor names, assuming
     * the default-domain opset {@link #guessOpset guessed} from the graph's nodes. Prefer
     * {@link #differentiate(Graph, int, GradientRequest)} when the model's opset is at hand.
     */
    public GradientResult differentiate(Graph graph, GradientRequest request) {
        return differentiate(graph, guessOpset(graph), request);
    }

    /**
     * Appends backward nodes to {@code graph} (mutated in place), emitting ops in their form at default-domain
     * opset {@code opset} ({@code model.opsetVersion("")}), and returns the gradient tensor names.
     *
     * @throws UnsupportedOpException   when an op on a path from a wrt tensor to a seed has no rule (the graph is
     *                                  then left unchanged)
     * @throws ShapeInferenceException when a node's inputs or attributes contradict its op
     */
    public GradientResult differentiate(Graph graph, int opset, GradientRequest request) {
        if (opset < 7) {
            throw new InvalidArgumentException("opset " + opset + " is too old to differentiate (need 7 or later)");
        }
        return new Engine(ops, graph, request, opset).run();
    }

    /** {@link #differentiate(Graph, int, GradientRequest)} on {@code model}'s graph, at its opset. */
    public Differentiated differentiate(OnnxModel model, GradientRequest request) {
        Graph g = model.graph();
        GradientResult r = differentiate(g, model.opsetVersion(""), request);
        return new Differentiated(g, r);
    }

    /** A differentiated copy of a model's graph and its gradient names. */
    public record Differentiated(Graph graph, GradientResult result) {}

    /**
     * The default-domain opset suggested by a graph's nodes when the model is not at hand: below 13 when a
     * ReduceSum/Squeeze/Unsqueeze/Split carries its axes or split as an attribute, 18 when a ReduceMean-style
     * op or Pad takes axes as an input or Split has num_outputs, else 17.
     */
    public static int guessOpset(Graph graph) {
        boolean old = false;
        boolean new18 = false;
        for (Node n : graph.nodes()) {
            if (!n.isDefaultDomain()) {
                continue;
            }
            String op = n.opType();
            int since = OpsetAwareInputs.axesInputSince(op).orElse(0);
            if (since == 13 && n.hasAttribute("axes") || op.equals("Split") && n.hasAttribute("split")) {
                old = true;
            }
            if (since == 18 && !n.input(1).isEmpty()
                    || op.equals("Split") && n.hasAttribute("num_outputs")
                    || op.equals("Pad") && !n.input(3).isEmpty()) {
                new18 = true;
            }
        }
        return old ? 12 : new18 ? 18 : 17;
    }
}
