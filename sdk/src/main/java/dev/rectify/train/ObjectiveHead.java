package dev.rectify.train;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;

/**
 * The loss head appended after {@code logits} [batch, seq, vocab], with its backward written directly.
 * <p>User inputs: {@code labels} int64 [batch, seq] (already shifted: labels[t] is the target of position t; −100
 * ignored) and {@code loss_denominator} float [1] (see {@link Normalization}); optionally {@code token_weights} float
 * [batch, seq], extra per-token weights (never differentiated).
 * <p>Outputs (scalars): {@code loss} = Σ w_t·(−log p_t) / max(denominator, 1), {@code nll_sum} = Σ −log p_t over
 * valid tokens, {@code valid_tokens}, and with accuracy {@code correct_tokens} (argmax = label).
 * <p>Backward: dlogits = w_t·(softmax − onehot(y_t)) / denominator, where w_t = mask·{@link Objective#weight}(p_t)
 * is a forward value, hence stop-gradient by construction. No extra vocabulary-sized tensor is made for the
 * weight and no one-hot: softmax·w, then ScatterElements writes (p_t − 1)·w into the label column.
 */
public final class ObjectiveHead {
    public static final String LABELS = "labels";
    public static final String LOSS_DENOMINATOR = "loss_denominator";
    public static final String TOKEN_WEIGHTS = "token_weights";
    public static final String LOSS = "loss";
    public static final String NLL_SUM = "nll_sum";
    public static final String VALID_TOKENS = "valid_tokens";
    public static final String CORRECT_TOKENS = "correct_tokens";
    public static final long IGNORE_INDEX = -100;

    private final Objective objective;
    private final boolean tokenWeights;

    private ObjectiveHead(Objective objective, boolean tokenWeights) {
        this.objective = objective;
        this.tokenWeights = tokenWeights;
    }

    /** A head for {@code objective}. */
    public static ObjectiveHead of(Objective objective) {
        if (objective == null) {
            throw new InvalidArgumentException("objective is required");
        }
        return new ObjectiveHead(objective, false);
    }

    /** The same head with a {@code token_weights} input multiplying every token's weight. */
    public ObjectiveHead withTokenWeightsInput() {
        return new ObjectiveHead(objective, true);
    }

    public Objective objective() {
        return objective;
    }

    /**
     * Tensor names the head produced.
     *
     * @param dlogits the gradient of {@code loss} w.r.t. logits, or null without backward
     */
    public record Result(String loss, String nllSum, String validTokens, String correctTokens, String dlogits) {}

    /**
     * Appends the head to {@code graph}: adds its user inputs (after the existing inputs) and the scalar outputs
     * {@code loss, nll_sum, valid_tokens[, correct_tokens]}; the backward, if asked, is left as a tensor.
     */
    public Result append(Graph graph, String logits, boolean backward, boolean accuracy) {
        addInputs(graph);
        Ops o = new Ops(graph, "/loss/");
        String minusOne = o.constant(Tensors.ofLongs("", new long[] {-1, 1}, 2));
        String z = o.op("Flatten", List.of(logits), "logits2d").attr("axis", 2L).output(0); // [N, V]
        String y = o.op("Reshape", List.of(LABELS, minusOne), "labels2d").output(0); // [N, 1]
        String tw = tokenWeights
                ? o.op("Reshape", List.of(TOKEN_WEIGHTS, minusOne), "token_weights2d")
                        .output(0)
                : null;
        String denom = denominator(o);
        Block b = block(o, z, y, tw, denom, backward, accuracy);
        o.named("Identity", List.of(b.nllSum()), NLL_SUM);
        o.named("Identity", List.of(b.validTokens()), VALID_TOKENS);
        o.named("Div", List.of(b.weightedNllSum(), denom), LOSS);
        addOutputs(graph, accuracy);
        if (accuracy) {
            o.named("Identity", List.of(b.correctTokens()), CORRECT_TOKENS);
        }
        String dlogits = null;
        if (backward) {
            String shape = o.op("Shape", List.of(logits), "logits_shape").output(0);
            dlogits = o.op("Reshape", List.of(b.dlogits(), shape), "dlogits").output(0);
        }
        return new Result(LOSS, NLL_SUM, VALID_TOKENS, accuracy ? CORRECT_TOKENS : null, dlogits);
    }

    /** Adds the head's user inputs, after checking that its names are free. */
    void addInputs(Graph graph) {
        for (String n : List.of(LABELS, LOSS_DENOMINATOR, LOSS, NLL_SUM, VALID_TOKENS, CORRECT_TOKENS)) {
            if (graph.tensorNames().contains(n)) {
                throw new InvalidArgumentException(
                        "cannot append the loss head: the graph already uses the name '" + n + "'");
            }
        }
        graph.addInput(Builders.tensor(LABELS, DataType.INT64, "batch", "sequence"));
        graph.addInput(Builders.tensor(LOSS_DENOMINATOR, DataType.FLOAT, 1));
        if (tokenWeights) {
            graph.addInput(Builders.tensor(TOKEN_WEIGHTS, DataType.FLOAT, "batch", "sequence"));
        }
    }

    /** Declares the scalar outputs {@code loss, nll_sum, valid_tokens[, correct_tokens]}. */
    static void addOutputs(Graph graph, boolean accuracy) {
        graph.addOutput(Builders.tensor(LOSS, DataType.FLOAT));
        graph.addOutput(Builders.tensor(NLL_SUM, DataType.FLOAT));
        graph.addOutput(Builders.tensor(VALID_TOKENS, DataType.FLOAT));
        if (accuracy) {
            graph.addOutput(Builders.tensor(CORRECT_TOKENS, DataType.FLOAT));
        }
    }

    /** max(loss_denominator, 1) as a scalar. */
    static String denominator(Ops o) {
        String one = o.constant(Tensors.ofFloats("", new float[] {1f}, 1));
        String denom1 =
                o.op("Max", List.of(LOSS_DENOMINATOR, one), "denominator").output(0);
        String scalarShape = o.constant(Tensors.ofLongs("", new long[0], 0));
        return o.op("Reshape", List.of(denom1, scalarShape), "denominator_scalar")
                .output(0);
    }

    boolean hasTokenWeights() {
        return tokenWeights;
    }

    /**
     * The head over one block of tokens: its scalar sums and, with backward, its dlogits [n, V].
     *
     * @param correctTokens null without accuracy
     * @param dlogits null without backward
     */
    record Block(String nllSum, String validTokens, String weightedNllSum, String correctTokens, String dlogits) {}

    /**
     * The head's math over the tokens of {@code z} [n, V] with labels {@code y} [n, 1] (and token weights {@code tw}
     * [n, 1] or null); {@code denom} is the scalar denominator. The whole head is this over all tokens; the
     * chunked head ({@link ChunkedLossHead}) sums it over blocks of tokens.
     */
    Block block(Ops o, String z, String y, String tw, String denom, boolean backward, boolean accuracy) {
        String ignore = o.constant(Tensors.scalar("", IGNORE_INDEX));
        String zeroL = o.constant(Tensors.scalar("", 0L));
        String isIgnored = o.op("Equal", List.of(y, ignore), "ignored").output(0);
        String valid = o.op("Not", List.of(isIgnored), "valid").output(0);
        String idx = o.op("Where", List.of(valid, y, zeroL), "safe_labels").output(0); // [N, 1]
        String mask = o.op("Cast", List.of(valid), "mask")
                .attr("to", (long) DataType.FLOAT_VALUE)
                .output(0);
        String logp = o.op("LogSoftmax", List.of(z), "logp").attr("axis", 1L).output(0); // [N, V]
        String lpt = o.op("GatherElements", List.of(logp, idx), "logp_t")
                .attr("axis", 1L)
                .output(0); // [N, 1]
        String nlpt = o.op("Neg", List.of(lpt), "nll_t").output(0);
        String nllMasked = o.op("Mul", List.of(nlpt, mask), "nll_masked").output(0);
        String nllSum = o.op("ReduceSum", List.of(nllMasked), "nll_sum")
                .attr("keepdims", 0L)
                .output(0);
        String validSum = o.op("ReduceSum", List.of(mask), "valid_tokens")
                .attr("keepdims", 0L)
                .output(0);
        String pt = o.op("Exp", List.of(lpt), "p_t").output(0);
        String w = weight(o, pt, mask);
        if (tw != null) {
            w = o.op("Mul", List.of(w, tw), "w_weighted").output(0);
        }
        String wl = o.op("Mul", List.of(w, nlpt), "weighted_nll").output(0);
        String wsum = o.op("ReduceSum", List.of(wl), "weighted_nll_sum")
                .attr("keepdims", 0L)
                .output(0);
        String correct = null;
        if (accuracy) {
            String am = o.op("ArgMax", List.of(z), "argmax")
                    .attr("axis", 1L)
                    .attr("keepdims", 1L)
                    .output(0);
            String eq = o.op("Equal", List.of(am, y), "argmax_eq").output(0);
            String ok = o.op("And", List.of(eq, valid), "correct").output(0);
            String okf = o.op("Cast", List.of(ok), "correct_f")
                    .attr("to", (long) DataType.FLOAT_VALUE)
                    .output(0);
            correct = o.op("ReduceSum", List.of(okf), "correct_tokens")
                    .attr("keepdims", 0L)
                    .output(0);
        }
        String dz = null;
        if (backward) {
            String coef = o.op("Div", List.of(w, denom), "coef").output(0); // [N, 1]
            String sm = o.op("Exp", List.of(logp), "softmax").output(0); // [N, V]
            String g = o.op("Mul", List.of(sm, coef), "softmax_w").output(0); // [N, V]
            String oneS = o.constant(Tensors.scalar("", 1f));
            String pm1 = o.op("Sub", List.of(pt, oneS), "p_minus_1").output(0);
            String upd = o.op("Mul", List.of(pm1, coef), "label_grad").output(0); // [N, 1]
            dz = o.op("ScatterElements", List.of(g, idx, upd), "dlogits2d")
                    .attr("axis", 1L)
                    .output(0);
        }
        return new Block(nllSum, validSum, wsum, correct, dz);
    }

    private String weight(Ops o, String pt, String mask) {
        return switch (objective.kind()) {
            case SFT -> mask;
            case DFT -> o.op("Mul", List.of(pt, mask), "w").output(0);
            case DFT_CLAMPED -> {
                String c = o.constant(Tensors.scalar("", (float) objective.parameter()));
                String mx = o.op("Max", List.of(pt, c), "p_clamped").output(0);
                yield o.op("Mul", List.of(mx, mask), "w").output(0);
            }
            case MIX -> {
                float lambda = (float) objective.parameter();
                String a = o.constant(Tensors.scalar("", 1f - lambda));
                String b = o.constant(Tensors.scalar("", lambda));
                String pa = o.op("Mul", List.of(pt, a), "p_scaled").output(0);
                String mixed = o.op("Add", List.of(pa, b), "p_mixed").output(0);
                yield o.op("Mul", List.of(mixed, mask), "w").output(0);
            }
        };
    }

    /** Tiny node-emitting helper with unique names under a prefix. */
    static final class Ops {
        private final Graph graph;
        private final String prefix;

        Ops(Graph graph, String prefix) {
            this.graph = graph;
            this.prefix = prefix;
        }

        Node op(String type, List<String> inputs, String outName) {
            String out = graph.uniqueName(prefix + outName);
            return graph.addNode(
                    Node.of(type, inputs, List.of(out)).name(graph.uniqueName(prefix + outName + "/" + type)));
        }

        Node named(String type, List<String> inputs, String exactOut) {
            return graph.addNode(
                    Node.of(type, inputs, List.of(exactOut)).name(graph.uniqueName(prefix + exactOut + "/" + type)));
        }

        String constant(TensorProto value) {
            String out = graph.uniqueName(prefix + "const");
            graph.addNode(Node.of("Constant", List.of(), List.of(out))
                    .name(graph.uniqueName(prefix + "Constant"))
                    .attr("value", value.toBuilder().clearName().build()));
            return out;
        }
    }
}
