package dev.rectify.canon;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Map;

/**
 * Attention fusions lowered to MatMul, Softmax, Transpose/Reshape and Where masks: com.microsoft
 * MultiHeadAttention, Attention (packed QKV weights, unidirectional, past), GroupQueryAttention (kv heads, local
 * window, softcap, rotary inside) and ONNX Attention-23. Scores are computed in float for half-precision inputs
 * (as ORT's CPU kernels accumulate); masked positions get the op's mask_filter_value added once (ORT's kernels
 * set, not add, the filter value, so a position masked twice is not pushed to -inf). Above 400 lines because it
 * holds the four ops' input conventions, which share one core ({@link #attend}).
 */
final class AttentionLowerings {
    private static final double MHA_FILTER = -10000.0;
    /** The most negative float: the exp of (score + this − max) is exactly 0, like a skipped position. */
    private static final double LOWEST = -3.4028234663852886e38;

    private AttentionLowerings() {}

    static void register(Map<String, OpLowering> m) {
        m.put(Canonicalizer.ms("MultiHeadAttention"), AttentionLowerings::multiHead);
        m.put(Canonicalizer.ms("Attention"), AttentionLowerings::packed);
        m.put(Canonicalizer.ms("GroupQueryAttention"), AttentionLowerings::groupQuery);
        m.put("Attention", AttentionLowerings::onnx);
    }

    // ---- shared pieces ----

    /** [B, S, N·H] → [B, N, S, H]. */
    static String toHeads(Lower ctx, String x, long heads) {
        return ctx.transpose(ctx.reshape(x, 0L, 0L, heads, -1L), 0, 2, 1, 3);
    }

    /** [B, N, S, H] → [B, S, N·H]. */
    static String fromHeads(Lower ctx, String x) {
        return ctx.reshape(ctx.transpose(x, 0, 2, 1, 3), 0L, 0L, -1L);
    }

    /** A scalar int64 (0-D) holding dim {@code i} of {@code x}. */
    static String dimScalar(Lower ctx, String x, long i) {
        return ctx.squeeze(ctx.dim(x, i), 0);
    }

    /** [S, T] bool: key j visible to query i iff j <= i + offset (offset = 0-D int64). */
    static String causal(Lower ctx, String s, String t, String offset) {
        String qi = ctx.unsqueeze(ctx.op("Range", ctx.intScalar(0), s, ctx.intScalar(1)), 1);
        String kj = ctx.unsqueeze(ctx.op("Range", ctx.intScalar(0), t, ctx.intScalar(1)), 0);
        return ctx.op("Not", ctx.op("Greater", kj, ctx.op("Add", qi, offset)));
    }

    static String and(Lower ctx, String a, String b) {
        if (a == null) {
            return b;
        }
        return b == null ? a : ctx.op("And", a, b);
    }

    /** Repeats each of kvHeads heads of [B, kvHeads, T, H] heads/kvHeads times (HF repeat_kv). */
    static String repeatKv(Lower ctx, String x, long heads, long kvHeads) {
        if (heads == kvHeads) {
            return x;
        }
        if (heads % kvHeads != 0) {
            throw ctx.fail(
                    "num_heads " + heads + " is not a multiple of kv_num_heads " + kvHeads,
                    "Fix the node's attributes");
        }
        String x5 = ctx.unsqueeze(x, 2);
        String shape = ctx.concat(
                0, ctx.dim(x, 0), ctx.ints(kvHeads), ctx.ints(heads / kvHeads), ctx.dim(x, 2), ctx.dim(x, 3));
        return ctx.reshape(ctx.op("Expand", x5, shape), 0L, heads, -1L, ctx.dim(x, 3));
    }

    /**
     * Repeats the heads of k [B, Nk, T, H] to q's head count (dims read at run time; a no-op when they are equal),
     * each kv head repeated consecutively.
     */
    static String repeatKvDynamic(Lower ctx, String k, String q) {
        String group = ctx.op("Div", ctx.dim(q, 1), ctx.dim(k, 1));
        String shape = ctx.concat(0, ctx.dim(k, 0), ctx.dim(k, 1), group, ctx.dim(k, 2), ctx.dim(k, 3));
        String expanded = ctx.op("Expand", ctx.unsqueeze(k, 2), shape);
        return ctx.reshape(expanded, 0L, ctx.dim(q, 1), -1L, ctx.dim(k, 3));
    }

    /** How masks and softcap combine in one op. */
    record Masking(String soft, double filter, String hard, String bias, double softcap, boolean softcapLast) {}

    /**
     * softmax(scale·QKᵀ ⊕ masks)·V on [B, N, S, H] tensors in compute type {@code ct}. Masks broadcast to
     * [B, N, S, T]: {@code soft} (bool, visible where true) adds {@code filter} where hidden, {@code hard} hides
     * positions completely, {@code bias} is added as is. softcap (c·tanh(x/c)) applies to the scaled scores before
     * the masks, or after them when {@code softcapLast} (ONNX Runtime 1.24's ONNX Attention).
     *
     * @param scale 0 for 1/√H
     */
    static String attend(Lower ctx, int ct, String q, String k, String v, double scale, Masking m) {
        String scores = ctx.op("MatMul", q, ctx.transpose(k, 0, 1, 3, 2));
        String sc;
        if (scale != 0) {
            sc = ctx.scalar(scale, ct);
        } else {
            String h = ctx.cast(ctx.dim(q, 3), ct);
            sc = ctx.op("Div", ctx.scalar(1.0, ct), ctx.op("Sqrt", h));
        }
        scores = ctx.op("Mul", scores, sc);
        if (m.softcap() > 0 && !m.softcapLast()) {
            scores = softcap(ctx, ct, scores, m.softcap());
        }
        if (m.soft() != null) {
            scores = ctx.op("Add", scores, ctx.op("Where", m.soft(), ctx.scalar(0.0, ct), ctx.scalar(m.filter(), ct)));
        }
        if (m.hard() != null) {
            scores = ctx.op("Add", scores, ctx.op("Where", m.hard(), ctx.scalar(0.0, ct), ctx.scalar(LOWEST, ct)));
        }
        if (m.bias() != null) {
            scores = ctx.op("Add", scores, m.bias());
        }
        if (m.softcap() > 0 && m.softcapLast()) {
            scores = softcap(ctx, ct, scores, m.softcap());
        }
        return ctx.op("MatMul", ctx.softmaxLast(scores), v);
    }

    private static String softcap(Lower ctx, int ct, String x, double c) {
        String cap = ctx.scalar(c, ct);
        return ctx.op("Mul", ctx.op("Tanh", ctx.op("Div", x, cap)), cap);
    }

    /** Writes {@code x} (compute type) to output {@code i} in type {@code t}, when that output is wanted. */
    static void emitOut(Lower ctx, int i, String x, int t) {
        if (ctx.wants(i)) {
            NormLowerings.finish(ctx, x, ctx.out(i), t, ctx.types.type(x));
        }
    }

    /**
     * A padding mask as bool [B, 1, S|1, T]: 1-D [B] holds each row's end position, 2-D [B, T] marks visible keys
     * with nonzero values, 3-D [B, S, T] per query.
     */
    static String paddingMask(Lower ctx, String mask, String t) {
        int r = ctx.rank(mask);
        String zero = ctx.cast(ctx.constant(Tensors.ofInts("", new int[] {0})), ctx.type(mask));
        switch (r) {
            case 1 -> {
                String kj = ctx.unsqueeze(ctx.op("Range", ctx.intScalar(0), t, ctx.intScalar(1)), 0);
                String end = ctx.unsqueeze(ctx.cast(mask, DataType.INT64_VALUE), 1);
                return ctx.unsqueeze(ctx.op("Less", kj, end), 1, 2);
            }
            case 2 -> {
                return ctx.unsqueeze(ctx.op("Greater", mask, zero), 1, 2);
            }
            case 3 -> {
                return ctx.unsqueeze(ctx.op("Greater", mask, zero), 1);
            }
            default ->
                throw ctx.fail(
                        "a mask of rank " + r + " ('" + mask + "')",
                        "Use a [batch, total_sequence] "
                                + "attention mask (ONNX Runtime's CPU kernels do not run 4-D masks either)");
        }
    }

    // ---- com.microsoft MultiHeadAttention ----

    /**
     * Inputs: query [B,S,D], key [B,L,D] or [B,N,L,H], value, bias [D+D+Dv], key_padding_mask, attention_bias
     * [B|1, N|1, S, T], past_key / past_value [B,N,P,H]. Outputs: output [B,S,Dv], present_key, present_value.
     */
    private static void multiHead(Lower ctx) {
        long heads = ctx.attr("num_heads", 0L);
        if (heads <= 0) {
            throw ctx.fail("num_heads is missing", "Set num_heads on the node");
        }
        if (ctx.has(8) || ctx.has(9)) {
            throw ctx.fail(
                    "past_sequence_length / cache_indirection (beam search) inputs are set",
                    "Train from the " + "model without beam-search cache inputs");
        }
        String query = ctx.in(0);
        int t = ctx.type(query);
        int ct = Lower.computeType(t);
        if (ctx.rank(query) != 3 || !ctx.has(1) || !ctx.has(2) || ctx.rank(ctx.in(1)) == 5) {
            throw ctx.fail("packed QKV or KV inputs", "Export the model with separate query, key and value inputs");
        }
        String q = ctx.up(query);
        String k = ctx.up(ctx.in(1));
        String v = ctx.up(ctx.in(2));
        boolean kvHeadsFirst = ctx.rank(ctx.in(1)) == 4;
        if (ctx.has(3)) {
            String bias = ctx.up(ctx.in(3));
            String d = ctx.dim(query, 2);
            String d2 = ctx.op("Mul", d, ctx.ints(2));
            q = ctx.op("Add", q, ctx.op("Slice", bias, ctx.ints(0), d, ctx.ints(0)));
            if (!kvHeadsFirst) {
                k = ctx.op("Add", k, ctx.op("Slice", bias, d, d2, ctx.ints(0)));
                v = ctx.op("Add", v, ctx.op("Slice", bias, d2, ctx.ints(Long.MAX_VALUE), ctx.ints(0)));
            }
        }
        q = toHeads(ctx, q, heads);
        if (!kvHeadsFirst) {
            k = toHeads(ctx, k, heads);
            v = toHeads(ctx, v, heads);
        }
        if (ctx.has(6)) {
            k = ctx.concat(2, ctx.up(ctx.in(6)), k);
        }
        if (ctx.has(7)) {
            v = ctx.concat(2, ctx.up(ctx.in(7)), v);
        }
        String tt = dimScalar(ctx, k, 2);
        String padding = ctx.has(4) ? paddingMask(ctx, ctx.in(4), tt) : null;
        String hard = null;
        if (ctx.attr("unidirectional", 0L) != 0) {
            // MultiHeadAttention skips future keys outright; padding adds mask_filter_value
            String s = dimScalar(ctx, q, 2);
            hard = causal(ctx, s, tt, ctx.op("Sub", tt, s));
        }
        String bias = ctx.has(5) ? ctx.up(ctx.in(5)) : null;
        String y = attend(
                ctx,
                ct,
                q,
                k,
                v,
                ctx.attr("scale", 0f),
                new Masking(padding, ctx.attr("mask_filter_value", (float) MHA_FILTER), hard, bias, 0, false));
        emitOut(ctx, 0, fromHeads(ctx, y), t);
        emitOut(ctx, 1, k, t);
        emitOut(ctx, 2, v, t);
        if (ctx.wants(3)) {
            throw ctx.fail("output qk is consumed", "Do not consume the attention scores output in a training graph");
        }
    }

    // ---- com.microsoft Attention ----

    /**
     * Inputs: input [B,S,Hin], weights [Hin, Dq+Dk+Dv], bias, mask_index, past [2,B,N,P,H], attention_bias.
     * Outputs: output [B,S,Dv], present [2,B,N,P+S,H].
     */
    private static void packed(Lower ctx) {
        long heads = ctx.attr("num_heads", 0L);
        if (heads <= 0) {
            throw ctx.fail("num_heads is missing", "Set num_heads on the node");
        }
        if (ctx.has(6) || ctx.attr("past_present_share_buffer", 0L) != 0 || ctx.attr("do_rotary", 0L) != 0) {
            throw ctx.fail(
                    "a shared past/present buffer or do_rotary is set",
                    "Train from an export without " + "ONNX Runtime's decoding-only Attention options");
        }
        String input = ctx.in(0);
        int t = ctx.type(input);
        int ct = Lower.computeType(t);
        String qkv = ctx.up(ctx.op("MatMul", input, ctx.in(1)));
        if (ctx.has(2)) {
            qkv = ctx.op("Add", qkv, ctx.up(ctx.in(2)));
        }
        long[] sizes = Attributes.getInts(ctx.node, "qkv_hidden_sizes", new long[0]);
        String q;
        String k;
        String v;
        if (sizes.length == 3) {
            q = ctx.slice(qkv, 0, sizes[0], 2);
            k = ctx.slice(qkv, sizes[0], sizes[0] + sizes[1], 2);
            v = ctx.slice(qkv, sizes[0] + sizes[1], sizes[0] + sizes[1] + sizes[2], 2);
        } else {
            String third = ctx.op("Div", ctx.dim(ctx.in(1), 1), ctx.ints(3));
            String two = ctx.op("Mul", third, ctx.ints(2));
            q = ctx.op("Slice", qkv, ctx.ints(0), third, ctx.ints(2));
            k = ctx.op("Slice", qkv, third, two, ctx.ints(2));
            v = ctx.op("Slice", qkv, two, ctx.ints(Long.MAX_VALUE), ctx.ints(2));
        }
        q = toHeads(ctx, q, heads);
        k = toHeads(ctx, k, heads);
        v = toHeads(ctx, v, heads);
        if (ctx.has(4)) {
            String past = ctx.up(ctx.in(4));
            k = ctx.concat(2, ctx.squeeze(ctx.slice(past, 0, 1, 0), 0), k);
            v = ctx.concat(2, ctx.squeeze(ctx.slice(past, 1, 2, 0), 0), v);
        }
        String tt = dimScalar(ctx, k, 2);
        String allowed = ctx.has(3) ? paddingMask(ctx, ctx.in(3), tt) : null;
        if (ctx.attr("unidirectional", 0L) != 0) {
            String s = dimScalar(ctx, q, 2);
            allowed = and(ctx, allowed, causal(ctx, s, tt, ctx.op("Sub", tt, s)));
        }
        String bias = ctx.has(5) ? ctx.up(ctx.in(5)) : null;
        // Attention sets mask_filter_value once at every hidden position, causal or padded
        String y = attend(
                ctx,
                ct,
                q,
                k,
                v,
                ctx.attr("scale", 0f),
                new Masking(allowed, ctx.attr("mask_filter_value", (float) MHA_FILTER), null, bias, 0, false));
        emitOut(ctx, 0, fromHeads(ctx, y), t);
        if (ctx.wants(1)) {
            emitOut(ctx, 1, ctx.concat(0, ctx.unsqueeze(k, 0), ctx.unsqueeze(v, 0)), t);
        }
    }

    // ---- com.microsoft GroupQueryAttention ----

    /**
     * Inputs: query [B,S,N·H] (or packed QKV [B,S,(N+2Nk)·H] without key/value), key, value [B,S,Nk·H],
     * past_key / past_value [B,Nk,P,H], seqlens_k [B] (total length − 1 per row), total_sequence_length,
     * cos_cache / sin_cache (do_rotary), position_ids, attention_bias. Causal: row b's query s sees keys
     * j ≤ past_b + s with j &lt; seqlens_k[b] + 1 (past_b = 0 for a first prompt, else total_b − S), and with
     * local_window_size w &gt; 0 only j &gt; past_b + s − w; hidden keys are skipped outright. Outputs: output, present_key, present_value.
     */
    private static void groupQuery(Lower ctx) {
        long heads = ctx.attr("num_heads", 0L);
        long kvHeads = ctx.attr("kv_num_heads", 0L);
        if (heads <= 0 || kvHeads <= 0) {
            throw ctx.fail("num_heads / kv_num_heads are missing", "Set both on the node");
        }
        if (!ctx.has(5)) {
            throw ctx.fail("seqlens_k (input 5) is missing", "Give the node its seqlens_k input");
        }
        if (ctx.attr("smooth_softmax", 0L) != 0 || ctx.has(11)) {
            throw ctx.fail("smooth_softmax / head_sink are set", "Train from an export without attention sinks");
        }
        String query = ctx.in(0);
        int t = ctx.type(query);
        int ct = Lower.computeType(t);
        String q;
        String k;
        String v;
        if (!ctx.has(1)) {
            String x = ctx.up(query);
            String all = toHeads(ctx, x, heads + 2 * kvHeads);
            q = ctx.slice(all, 0, heads, 1);
            k = ctx.slice(all, heads, heads + kvHeads, 1);
            v = ctx.slice(all, heads + kvHeads, heads + 2 * kvHeads, 1);
        } else {
            q = toHeads(ctx, ctx.up(query), heads);
            k = toHeads(ctx, ctx.up(ctx.in(1)), kvHeads);
            v = toHeads(ctx, ctx.up(ctx.in(2)), kvHeads);
        }
        String s = dimScalar(ctx, q, 2);
        String total = ctx.op("Add", ctx.cast(ctx.in(5), DataType.INT64_VALUE), ctx.intScalar(1)); // [B]
        String pastLen = ctx.has(3) ? dimScalar(ctx, ctx.in(3), 2) : ctx.intScalar(0);
        // a first prompt (no past) starts every row at position 0
        String firstPrompt = ctx.op("Equal", pastLen, ctx.intScalar(0));
        String pastB = ctx.op("Where", firstPrompt, ctx.intScalar(0), ctx.op("Sub", total, s)); // [B] or scalar
        if (ctx.attr("do_rotary", 0L) != 0) {
            String pos;
            if (ctx.has(9)) {
                pos = ctx.in(9);
            } else {
                String sr = ctx.unsqueeze(ctx.op("Range", ctx.intScalar(0), s, ctx.intScalar(1)), 0);
                pos = ctx.op("Add", ctx.unsqueeze(pastB, 1), sr); // [B, S]
            }
            String cos = ctx.up(ctx.in(7));
            String sin = ctx.up(ctx.in(8));
            String cosG = Lower.out0(ctx.opNode("Gather", cos, pos).attr("axis", 0L));
            String sinG = Lower.out0(ctx.opNode("Gather", sin, pos).attr("axis", 0L));
            boolean inter = ctx.attr("rotary_interleaved", 0L) != 0;
            q = RotaryLowering.rotate(ctx, q, 4, heads, 0, cosG, sinG, inter);
            k = RotaryLowering.rotate(ctx, k, 4, kvHeads, 0, cosG, sinG, inter);
        }
        if (ctx.has(3)) {
            k = ctx.concat(2, ctx.up(ctx.in(3)), k);
        }
        if (ctx.has(4)) {
            v = ctx.concat(2, ctx.up(ctx.in(4)), v);
        }
        String tt = dimScalar(ctx, k, 2);
        // [B, 1, S, T]: j <= past_b + s, j < total_b, and the local window
        String qi = ctx.unsqueeze(ctx.op("Range", ctx.intScalar(0), s, ctx.intScalar(1)), 0, 1, 3); // [1,1,S,1]
        String kj = ctx.unsqueeze(ctx.op("Range", ctx.intScalar(0), tt, ctx.intScalar(1)), 0, 1, 2); // [1,1,1,T]
        String last = ctx.op("Add", ctx.unsqueeze(pastB, 1, 2, 3), qi); // [B,1,S,1]
        String allowed = ctx.op("Not", ctx.op("Greater", kj, last));
        allowed = and(ctx, allowed, ctx.op("Less", kj, ctx.unsqueeze(total, 1, 2, 3)));
        long window = ctx.attr("local_window_size", -1L);
        if (window > 0) {
            allowed = and(ctx, allowed, ctx.op("Greater", kj, ctx.op("Sub", last, ctx.intScalar(window))));
        }
        String bias = ctx.has(10) ? ctx.up(ctx.in(10)) : null;
        String y = attend(
                ctx,
                ct,
                q,
                repeatKv(ctx, k, heads, kvHeads),
                repeatKv(ctx, v, heads, kvHeads),
                ctx.attr("scale", 0f),
                new Masking(null, 0, allowed, bias, ctx.attr("softcap", 0f), false));
        emitOut(ctx, 0, fromHeads(ctx, y), t);
        emitOut(ctx, 1, k, t);
        emitOut(ctx, 2, v, t);
    }

    // ---- ONNX Attention-23 ----

    /**
     * Inputs: Q, K, V ([B, N, S, H], or [B, S, N·H] with q_num_heads / kv_num_heads), attn_mask (bool: visible,
     * or additive float; broadcast to [B, N, S, T]), past_key, past_value. is_causal aligns the causal mask to
     * the upper left (query i sees keys j ≤ i + past). softcap after scaling, before the mask.
     */
    private static void onnx(Lower ctx) {
        String query = ctx.in(0);
        int t = ctx.type(query);
        int ct = Lower.computeType(t);
        if (ctx.has(6)) {
            throw ctx.fail(
                    "nonpad_kv_seqlen (an external KV cache) is set",
                    "Train from an export without a static " + "KV cache");
        }
        if (ctx.attr("qk_matmul_output_mode", 0L) != 0 || ctx.wants(3)) {
            throw ctx.fail("qk_matmul_output is requested", "Do not consume the attention scores in a training graph");
        }
        boolean threeD = ctx.rank(query) == 3;
        long qh = ctx.attr("q_num_heads", 0L);
        long kvh = ctx.attr("kv_num_heads", 0L);
        String q = ctx.up(query);
        String k = ctx.up(ctx.in(1));
        String v = ctx.up(ctx.in(2));
        if (threeD) {
            if (qh <= 0 || kvh <= 0) {
                throw ctx.fail("3-D inputs need q_num_heads and kv_num_heads", "Set both attributes on the node");
            }
            q = toHeads(ctx, q, qh);
            k = toHeads(ctx, k, kvh);
            v = toHeads(ctx, v, kvh);
        }
        if (ctx.has(4)) {
            k = ctx.concat(2, ctx.up(ctx.in(4)), k);
        }
        if (ctx.has(5)) {
            v = ctx.concat(2, ctx.up(ctx.in(5)), v);
        }
        String tt = dimScalar(ctx, k, 2);
        String s = dimScalar(ctx, q, 2);
        String allowed = null;
        String bias = null;
        if (ctx.has(3)) {
            if (ctx.type(ctx.in(3)) == DataType.BOOL_VALUE) {
                allowed = ctx.in(3);
            } else {
                bias = ctx.up(ctx.in(3));
            }
        }
        if (ctx.attr("is_causal", 0L) != 0) {
            String past = ctx.has(4) ? dimScalar(ctx, ctx.in(4), 2) : ctx.intScalar(0);
            allowed = and(ctx, allowed, causal(ctx, s, tt, past));
        }
        String kr = repeatKvDynamic(ctx, k, q);
        String vr = repeatKvDynamic(ctx, v, q);
        String y = attend(
                ctx,
                ct,
                q,
                kr,
                vr,
                ctx.attr("scale", 0f),
                new Masking(null, 0, allowed, bias, ctx.attr("softcap", 0f), true));
        emitOut(ctx, 0, threeD ? fromHeads(ctx, y) : y, t);
        emitOut(ctx, 1, k, t);
        emitOut(ctx, 2, v, t);
    }
}
