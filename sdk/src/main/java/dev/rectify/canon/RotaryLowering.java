package dev.rectify.canon;

import java.util.Map;

/**
 * Rotary position embedding lowered to Gather, Slice, Mul, Sub/Add and Concat: com.microsoft RotaryEmbedding
 * (inputs x, position_ids, cos_cache, sin_cache; position_ids either [batch, seq] or one start offset) and ONNX
 * RotaryEmbedding-23 (inputs x, cos_cache, sin_cache[, position_ids]; without position_ids the caches are already
 * [batch, seq, rot/2]). x is [batch, seq, hidden] or [batch, heads, seq, head_size]; the first rot = 2·(cache
 * width) features of each head are rotated (halves, or adjacent pairs when interleaved), the rest pass through.
 * Also used inside GroupQueryAttention's do_rotary.
 */
final class RotaryLowering {
    private static final long END = Long.MAX_VALUE;

    private RotaryLowering() {}

    static void register(Map<String, OpLowering> m) {
        m.put(Canonicalizer.ms("RotaryEmbedding"), RotaryLowering::microsoft);
        m.put("RotaryEmbedding", RotaryLowering::onnx);
    }

    private static void microsoft(Lower ctx) {
        String x = ctx.in(0);
        String pos = ctx.in(1);
        int t = ctx.type(x);
        int ct = Lower.computeType(t);
        String cos = ctx.up(ctx.in(2));
        String sin = ctx.up(ctx.in(3));
        int pr = ctx.rank(pos);
        String cosG;
        String sinG;
        if (pr == 2) {
            cosG = gather(ctx, cos, pos);
            sinG = gather(ctx, sin, pos);
        } else {
            // one start offset: positions offset + 0..S-1, shared by the batch
            int xr = ctx.rank(x);
            String s = ctx.squeeze(ctx.dim(x, xr == 4 ? 2 : 1), 0);
            String start = pr == 0 ? pos : ctx.squeeze(pos, 0);
            String positions = ctx.op("Add", ctx.op("Range", ctx.intScalar(0), s, ctx.intScalar(1)), start);
            cosG = ctx.unsqueeze(gather(ctx, cos, positions), 0);
            sinG = ctx.unsqueeze(gather(ctx, sin, positions), 0);
        }
        long rotAttr = ctx.attr("rotary_embedding_dim", 0L);
        long heads = ctx.attr("num_heads", 0L);
        String y = rotate(ctx, ctx.up(x), ctx.rank(x), heads, rotAttr, cosG, sinG, ctx.attr("interleaved", 0L) != 0);
        NormLowerings.finish(ctx, y, ctx.out(0), t, ct);
    }

    private static void onnx(Lower ctx) {
        String x = ctx.in(0);
        int t = ctx.type(x);
        int ct = Lower.computeType(t);
        String cos = ctx.up(ctx.in(1));
        String sin = ctx.up(ctx.in(2));
        String cosG = ctx.has(3) ? gather(ctx, cos, ctx.in(3)) : cos;
        String sinG = ctx.has(3) ? gather(ctx, sin, ctx.in(3)) : sin;
        int xr = ctx.rank(x);
        long heads = ctx.attr("num_heads", 0L);
        if (xr == 3 && heads == 0) {
            throw ctx.fail(
                    "a 3-D input needs the num_heads attribute",
                    "Set num_heads on the node (the ONNX spec requires it)");
        }
        String y = rotate(
                ctx,
                ctx.up(x),
                xr,
                heads,
                ctx.attr("rotary_embedding_dim", 0L),
                cosG,
                sinG,
                ctx.attr("interleaved", 0L) != 0);
        NormLowerings.finish(ctx, y, ctx.out(0), t, ct);
    }

    private static String gather(Lower ctx, String table, String idx) {
        return Lower.out0(ctx.opNode("Gather", table, idx).attr("axis", 0L));
    }

    /**
     * Rotates {@code x} (compute type; rank 3 [B,S,hidden] or 4 [B,N,S,H]) with gathered caches of shape [B|1, S,
     * rot/2]. {@code heads} may be 0 for a 3-D x, then the head size is taken as rot (the caches' width · 2).
     */
    static String rotate(
            Lower ctx, String x, int rank, long heads, long rotAttr, String cosG, String sinG, boolean interleaved) {
        String half = rotAttr > 0 ? ctx.ints(rotAttr / 2) : ctx.dim(cosG, -1);
        String rot = rotAttr > 0 ? ctx.ints(rotAttr) : ctx.op("Mul", half, ctx.ints(2));
        String x4;
        long seqAxisOfCos;
        if (rank == 3) {
            // [B, S, N, H]
            x4 = heads > 0 ? ctx.reshape(x, 0L, 0L, heads, -1L) : ctx.reshape(x, 0L, 0L, -1L, rot);
            seqAxisOfCos = 2;
        } else if (rank == 4) {
            x4 = x;
            seqAxisOfCos = 1;
        } else {
            throw ctx.fail("input of rank " + rank, "RotaryEmbedding takes a 3-D or 4-D input");
        }
        String cos = ctx.unsqueeze(cosG, seqAxisOfCos);
        String sin = ctx.unsqueeze(sinG, seqAxisOfCos);
        String xr = ctx.op("Slice", x4, ctx.ints(0), rot, ctx.ints(3));
        String rest = ctx.op("Slice", x4, rot, ctx.ints(END), ctx.ints(3));
        String x1;
        String x2;
        if (interleaved) {
            String pairs = ctx.reshape(xr, 0L, 0L, 0L, -1L, 2L);
            x1 = ctx.squeeze(ctx.slice(pairs, 0, 1, 4), 4);
            x2 = ctx.squeeze(ctx.slice(pairs, 1, 2, 4), 4);
        } else {
            x1 = ctx.op("Slice", xr, ctx.ints(0), half, ctx.ints(3));
            x2 = ctx.op("Slice", xr, half, ctx.ints(END), ctx.ints(3));
        }
        String real = ctx.op("Sub", ctx.op("Mul", x1, cos), ctx.op("Mul", x2, sin));
        String imag = ctx.op("Add", ctx.op("Mul", x2, cos), ctx.op("Mul", x1, sin));
        String rotated;
        if (interleaved) {
            String both = ctx.concat(4, ctx.unsqueeze(real, 4), ctx.unsqueeze(imag, 4));
            rotated = ctx.reshape(both, 0L, 0L, 0L, -1L);
        } else {
            rotated = ctx.concat(3, real, imag);
        }
        String y = ctx.concat(3, rotated, rest);
        return rank == 3 ? ctx.reshape(y, 0L, 0L, -1L) : y;
    }
}
