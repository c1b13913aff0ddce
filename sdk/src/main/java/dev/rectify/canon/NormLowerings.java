package dev.rectify.canon;

import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Normalization fusions of ONNX Runtime's transformer optimizers, lowered to an Add chain plus ONNX-domain
 * LayerNormalization / SimplifiedLayerNormalization (ORT registers both from opset 1; autodiff differentiates
 * them): SkipLayerNormalization, SkipSimplifiedLayerNormalization, EmbedLayerNormalization, and the
 * {@code com.microsoft}-tagged LayerNormalization variants. Half-precision inputs are computed in float (as ORT's
 * kernels accumulate) and cast back.
 */
final class NormLowerings {
    /** ORT's schema default for the skip/embed layer norms' epsilon. */
    static final float DEFAULT_EPSILON = 1e-12f;

    private NormLowerings() {}

    static void register(Map<String, OpLowering> m) {
        m.put(Canonicalizer.ms("SkipLayerNormalization"), ctx -> skip(ctx, false));
        m.put(Canonicalizer.ms("SkipSimplifiedLayerNormalization"), ctx -> skip(ctx, true));
        m.put(Canonicalizer.ms("EmbedLayerNormalization"), NormLowerings::embed);
        m.put(Canonicalizer.ms("LayerNormalization"), ctx -> retag(ctx, "LayerNormalization"));
        m.put(Canonicalizer.ms("SimplifiedLayerNormalization"), ctx -> retag(ctx, "SimplifiedLayerNormalization"));
    }

    /** The same op in the ONNX domain, where ORT registers it and autodiff has its rule. */
    private static void retag(Lower ctx, String op) {
        Node n = ctx.emit(op, ctx.node.inputs(), ctx.node.outputs());
        ctx.node.attributes().values().forEach(n::attr);
    }

    /**
     * Skip(Simplified)LayerNormalization: inputs (input, skip, gamma, [beta,] [bias]); outputs (output, mean,
     * inv_std_var, input_skip_bias_sum). sum = input + skip + bias; output = LN(sum).
     */
    private static void skip(Lower ctx, boolean simplified) {
        int t = ctx.type(ctx.in(0));
        int ct = Lower.computeType(t);
        String sum = ctx.op("Add", ctx.up(ctx.in(0)), ctx.up(ctx.in(1)));
        int biasIndex = simplified ? 3 : 4;
        if (ctx.has(biasIndex)) {
            sum = ctx.op("Add", sum, ctx.up(ctx.in(biasIndex)));
        }
        List<String> ins = new ArrayList<>(List.of(sum, ctx.up(ctx.in(2))));
        if (!simplified && ctx.has(3)) {
            ins.add(ctx.up(ctx.in(3)));
        }
        String y = ctx.fresh("normalized");
        List<String> outs = new ArrayList<>(List.of(y));
        if (simplified) {
            outs.add(ctx.wants(2) ? ctx.out(2) : "");
        } else {
            outs.add(ctx.wants(1) ? ctx.out(1) : "");
            outs.add(ctx.wants(2) ? ctx.out(2) : "");
        }
        while (!outs.isEmpty() && outs.get(outs.size() - 1).isEmpty()) {
            outs.remove(outs.size() - 1);
        }
        ctx.emit(simplified ? "SimplifiedLayerNormalization" : "LayerNormalization", ins, outs)
                .attr("axis", -1L)
                .attr("epsilon", ctx.attr("epsilon", DEFAULT_EPSILON))
                .attr("stash_type", (long) DataType.FLOAT_VALUE);
        finish(ctx, y, ctx.out(0), t, ct);
        if (ctx.wants(3)) {
            finish(ctx, sum, ctx.out(3), t, ct);
        }
        if (simplified && ctx.wants(1)) {
            throw ctx.fail(
                    "output 1 (mean) of SkipSimplifiedLayerNormalization is consumed, but an RMS norm has no mean",
                    "Re-export the model; this output is never produced by ONNX Runtime's optimizers");
        }
    }

    /** Writes {@code x} (compute type {@code ct}) to {@code out} in type {@code t}. */
    static void finish(Lower ctx, String x, String out, int t, int ct) {
        if (t == ct) {
            ctx.to(out, "Identity", x);
        } else {
            ctx.to(out, "Cast", x).attr("to", (long) t);
        }
    }

    /**
     * EmbedLayerNormalization: inputs (input_ids, segment_ids, word_embedding, position_embedding,
     * segment_embedding, gamma, beta, mask, position_ids); outputs (output, mask_index, embedding_sum).
     * Positions are 0..S-1 unless position_ids is given; mask_index counts the mask's ones per row (0 without mask).
     */
    private static void embed(Lower ctx) {
        int t = ctx.type(ctx.in(2));
        int ct = Lower.computeType(t);
        String ids = ctx.in(0);
        String sum = ctx.up(gather(ctx, ctx.in(2), ids));
        String pos;
        if (ctx.has(8)) {
            pos = gather(ctx, ctx.in(3), ctx.in(8));
        } else {
            String s = ctx.squeeze(ctx.dim(ids, 1), 0);
            String range = ctx.op("Range", ctx.intScalar(0), s, ctx.intScalar(1));
            pos = gather(ctx, ctx.in(3), range);
        }
        sum = ctx.op("Add", sum, ctx.up(pos));
        if (ctx.has(1) && ctx.has(4)) {
            sum = ctx.op("Add", sum, ctx.up(gather(ctx, ctx.in(4), ctx.in(1))));
        }
        List<String> ins = new ArrayList<>(List.of(sum, ctx.up(ctx.in(5))));
        if (ctx.has(6)) {
            ins.add(ctx.up(ctx.in(6)));
        }
        String y = ctx.fresh("normalized");
        ctx.emit("LayerNormalization", ins, List.of(y))
                .attr("axis", -1L)
                .attr("epsilon", ctx.attr("epsilon", DEFAULT_EPSILON))
                .attr("stash_type", (long) DataType.FLOAT_VALUE);
        finish(ctx, y, ctx.out(0), t, ct);
        if (ctx.wants(1)) {
            String count;
            if (ctx.has(7)) {
                String one = ctx.cast(ctx.constant(Tensors.ofInts("", new int[] {1})), ctx.type(ctx.in(7)));
                String isOne = ctx.cast(ctx.op("Equal", ctx.in(7), one), DataType.INT32_VALUE);
                count = ctx.reduceSum(isOne, false, 1);
                ctx.to(ctx.out(1), "Identity", count);
            } else {
                ctx.to(ctx.out(1), "ConstantOfShape", ctx.dim(ids, 0))
                        .attr("value", Tensors.ofInts("", new int[] {0}, 1));
            }
        }
        if (ctx.wants(2)) {
            finish(ctx, sum, ctx.out(2), t, ct);
        }
    }

    private static String gather(Lower ctx, String table, String indices) {
        return Lower.out0(ctx.opNode("Gather", table, indices).attr("axis", 0L));
    }
}
