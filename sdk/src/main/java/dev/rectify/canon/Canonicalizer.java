package dev.rectify.canon;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The canonicalization pass run on a training graph before differentiation: rewrites the fused ops that ONNX
 * Runtime's optimizers and exporters emit for inference (com.microsoft SkipLayerNormalization, EmbedLayerNormalization,
 * FastGelu, RotaryEmbedding, MultiHeadAttention, GroupQueryAttention, Attention…, and ONNX's opset-23
 * Attention and RotaryEmbedding) into standard ONNX ops that {@code dev.rectify.autodiff} differentiates, each
 * computing the same outputs. Ops that have gradient rules already (LayerNormalization, SimplifiedLayerNormalization,
 * RMSNormalization, Gelu-20) are kept. Inference and serving keep the fused graph; only training graphs are lowered.
 * 4-bit MatMulNBits and GatherBlockQuantized are kept too: their weights stay frozen and quantized (QLoRA), and
 * the autodiff differentiates MatMulNBits w.r.t. its input. Nodes inside control-flow subgraphs are not rewritten.
 *
 * <pre>{@code
 * Canonicalizer.Report r = Canonicalizer.standard().lower(graph, model.opsetVersion(""));
 * }</pre>
 */
public final class Canonicalizer {
    /** Fused com.microsoft ops made for inference that no lowering handles. */
    static final Set<String> INFERENCE_ONLY = Set.of(
            "PackedAttention",
            "PackedMultiHeadAttention",
            "DecoderMaskedMultiHeadAttention",
            "DecoderMaskedSelfAttention",
            "SparseAttention",
            "PagedAttention",
            "DynamicQuantizeMatMul",
            "MatMulIntegerToFloat",
            "MoE",
            "QMoE",
            "MatMulBnb4",
            "QAttention",
            "QOrderedAttention",
            "LongformerAttention",
            "DecoderAttention",
            "RelativePositionBias",
            "GemmaRotaryEmbedding",
            "QLinearMatMul");

    private final Map<String, OpLowering> lowerings;

    private Canonicalizer(Map<String, OpLowering> lowerings) {
        this.lowerings = Collections.unmodifiableMap(lowerings);
    }

    /** Every built-in lowering. */
    public static Canonicalizer standard() {
        Map<String, OpLowering> m = new LinkedHashMap<>();
        NormLowerings.register(m);
        ActivationLowerings.register(m);
        RotaryLowering.register(m);
        AttentionLowerings.register(m);
        return new Canonicalizer(m);
    }

    static String ms(String op) {
        return OnnxModel.MICROSOFT + ":" + op;
    }

    private static String key(Node n) {
        return n.isDefaultDomain() ? n.opType() : n.domain() + ":" + n.opType();
    }

    /** The ops this pass rewrites: "Op" for ONNX ops, "com.microsoft:Op" for others. */
    public Set<String> loweredOps() {
        return Collections.unmodifiableSet(new TreeSet<>(lowerings.keySet()));
    }

    /** What a pass rewrote: lowered node counts by op key. */
    public record Report(Map<String, Integer> lowered) {
        /** Nodes rewritten in all. */
        public int total() {
            return lowered.values().stream().mapToInt(Integer::intValue).sum();
        }
    }

    /**
     * Rewrites every fused node of {@code graph} (edited in place) whose default-domain opset is {@code opset}.
     *
     * @throws UnlowerableOpException for an inference-only op, or an attribute or input form, that has no lowering
     *                                (the graph may then be partly rewritten)
     */
    public Report lower(Graph graph, int opset) {
        List<Node> order = graph.topologicalOrder();
        ElementTypes types = ElementTypes.infer(graph, order);
        Map<String, Integer> counts = new TreeMap<>();
        for (Node n : order) {
            String k = key(n);
            OpLowering l = lowerings.get(k);
            if (l == null) {
                if (n.domain().equals(OnnxModel.MICROSOFT) && INFERENCE_ONLY.contains(n.opType())) {
                    throw new UnlowerableOpException(
                            n,
                            "it is an inference-only fused op with no standard-op form in " + "Rectify",
                            "Train from an export made of standard ONNX ops (torch.onnx.export, or Optimum "
                                    + "without ONNX Runtime fusions or quantization) and serve the fused model separately");
                }
                continue;
            }
            Lower ctx = new Lower(graph, n, opset, types);
            l.lower(ctx);
            graph.replaceNode(n, ctx.emitted.toArray(new Node[0]));
            counts.merge(k, 1, Integer::sum);
        }
        return new Report(Collections.unmodifiableMap(counts));
    }
}
