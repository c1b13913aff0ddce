package dev.rectify.autodiff;

import dev.rectify.onnx.OnnxModel;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * MatMul (numpy semantics: batch broadcasting, rank-1 operands), Gemm (all transA/transB, alpha, beta, C of any
 * broadcastable shape) and com.microsoft FusedMatMul (transA/transB/alpha; not transBatch).
 *
 * <p>MatMul: dA = unb(dY · Bᵀ), dB = unb(Aᵀ · dY), summed over the batch axes each operand was broadcast along.
 * A rank-1 operand is unsqueezed (A to [1,K], B to [K,1]) with dY unsqueezed to match, and squeezed back. A 2-D
 * B (a weight) against an A of rank ≥ 3 gets {@code Gemm(reshape(A,[-1,K]), reshape(dY,[-1,N]), transA=1)}, which
 * sums over all batch axes in one product. Unknown ranks fall back to FusedMatMul plus the dynamic reduction.
 */
final class MatMulRules {
    private MatMulRules() {
    }

    static void register(Map<String, GradientRule> m) {
        m.put("MatMul", MatMulRules::matmul);
        m.put("Gemm", MatMulRules::gemm);
        m.put(OnnxModel.MICROSOFT + ":FusedMatMul", MatMulRules::fusedMatMul);
    }

    private static void matmul(GradientContext ctx) {
        String g = ctx.outputGradient(0);
        String a = ctx.input(0);
        String b = ctx.input(1);
        int ra = ctx.rank(a);
        int rb = ctx.rank(b);
        if (ra < 0 || rb < 0) {
            if (!ctx.isFloat32(a) || !ctx.isFloat32(b)) {
                throw new UnsupportedOpException("MatMul", "", Engine.nodeName(ctx.node()),
                        Autodiff.withDefaultRules().supportedOps(),
                        "operands of unknown rank are only supported for FLOAT (through com.microsoft.FusedMatMul)");
            }
            if (ctx.requiresGradient(0)) {
                String pre = ctx.msOp("FusedMatMul", g, b);
                ctx.last().attr("transB", 1L);
                ctx.addInputGradient(0, Broadcasting.dynamic(ctx, pre, a));
            }
            if (ctx.requiresGradient(1)) {
                String pre = ctx.msOp("FusedMatMul", a, g);
                ctx.last().attr("transA", 1L);
                ctx.addInputGradient(1, Broadcasting.dynamic(ctx, pre, b));
            }
            return;
        }
        Object[] sa = ctx.shape(a);
        Object[] sb = ctx.shape(b);
        String a2 = a;
        String b2 = b;
        if (ra == 1) {
            a2 = ctx.unsqueeze(a, 0);
            sa = concat(new Object[] {1L}, sa);
        }
        if (rb == 1) {
            b2 = ctx.unsqueeze(b, 1);
            sb = concat(sb, new Object[] {1L});
        }
        if (ra == 1 && rb == 1) {
            g = ctx.reshape(g, ctx.ints(1, 1));
        } else if (ra == 1) {
            g = ctx.unsqueeze(g, -2);
        } else if (rb == 1) {
            g = ctx.unsqueeze(g, -1);
        }
        int rA = sa.length;
        int rB = sb.length;
        Object[] batch = TensorInfo.broadcast(List.of(Arrays.copyOf(sa, rA - 2), Arrays.copyOf(sb, rB - 2)));
        if (ctx.requiresGradient(0)) {
            String pre = ctx.op("MatMul", g, ctx.swapLastTwo(b2, rB));
            String d = Broadcasting.reduceTo(ctx, pre, concat(batch, Arrays.copyOfRange(sa, rA - 2, rA)), a2, sa);
            ctx.addInputGradient(0, ra == 1 ? ctx.squeeze(d, 0) : d);
        }
        if (ctx.requiresGradient(1)) {
            String d;
            if (rb == 2 && ra >= 3) {
                String a2d = ctx.reshape(a, minusOneAndLast(ctx, a, sa));
                String g2d = ctx.reshape(g, minusOneAndLast(ctx, b, sb));
                d = ctx.op("Gemm", a2d, g2d);
                ctx.last().attr("transA", 1L);
            } else {
                String pre = ctx.op("MatMul", ctx.swapLastTwo(a2, rA), g);
                d = Broadcasting.reduceTo(ctx, pre, concat(batch, Arrays.copyOfRange(sb, rB - 2, rB)), b2, sb);
                if (rb == 1) {
                    d = ctx.squeeze(d, 1);
                }
            }
            ctx.addInputGradient(1, d);
        }
    }

    /** The shape [-1, last dim of t] as an INT64 tensor (a constant when the dim is known). */
    private static String minusOneAndLast(GradientContext ctx, String t, Object[] shape) {
        Object last = shape == null || shape.length == 0 ? null : shape[shape.length - 1];
        if (last instanceof Long l && l > 0) {
            return ctx.ints(-1, l);
        }
        String tail = ctx.op("Slice", ctx.shapeOf(t), ctx.ints(-1), ctx.ints(Long.MAX_VALUE));
        String dims = ctx.op("Concat", ctx.ints(-1), tail);
        ctx.last().attr("axis", 0L);
        return dims;
    }

    private static Object[] concat(Object[] x, Object[] y) {
        if (x == null || y == null) {
            return null;
        }
        Object[] o = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, o, x.length, y.length);
        return o;
    }

    private static void gemm(GradientContext ctx) {
        String g = ctx.outputGradient(0);
        String a = ctx.input(0);
        String b = ctx.input(1);
        boolean ta = ctx.attrInt("transA", 0) != 0;
        boolean tb = ctx.attrInt("transB", 0) != 0;
        float alpha = ctx.attrFloat("alpha", 1f);
        float beta = ctx.attrFloat("beta", 1f);
        if (ctx.requiresGradient(0)) {
            String d = ta ? gemmOp(ctx, b, g, tb, true, alpha) : gemmOp(ctx, g, b, false, !tb, alpha);
            ctx.addInputGradient(0, d);
        }
        if (ctx.requiresGradient(1)) {
            String d = tb ? gemmOp(ctx, g, a, true, ta, alpha) : gemmOp(ctx, a, g, !ta, false, alpha);
            ctx.addInputGradient(1, d);
        }
        if (ctx.requiresGradient(2)) {
            String d = ctx.unbroadcastFromOutput(g, 2, 0);
            if (beta != 1f) {
                d = ctx.op("Mul", d, ctx.scalarLike(beta, ctx.output(0)));
            }
            ctx.addInputGradient(2, d);
        }
    }

    private static String gemmOp(GradientContext ctx, String x, String y, boolean tx, boolean ty, float alpha) {
        String out = ctx.op("Gemm", x, y);
        if (tx) {
            ctx.last().attr("transA", 1L);
        }
        if (ty) {
            ctx.last().attr("transB", 1L);
        }
        if (alpha != 1f) {
            ctx.last().attr("alpha", alpha);
        }
        return out;
    }

    private static void fusedMatMul(GradientContext ctx) {
        if (ctx.attrInt("transBatchA", 0) != 0 || ctx.attrInt("transBatchB", 0) != 0) {
            throw new UnsupportedOpException("FusedMatMul", OnnxModel.MICROSOFT, Engine.nodeName(ctx.node()),
                    Autodiff.withDefaultRules().supportedOps(), "transBatchA/transBatchB are not supported");
        }
        String g = ctx.outputGradient(0);
        String a = ctx.input(0);
        String b = ctx.input(1);
        boolean ta = ctx.attrInt("transA", 0) != 0;
        boolean tb = ctx.attrInt("transB", 0) != 0;
        float alpha = ctx.attrFloat("alpha", 1f);
        Object[] sa = ctx.shape(a);
        Object[] sb = ctx.shape(b);
        Object[] batch = sa == null || sb == null || sa.length < 2 || sb.length < 2 ? null
                : TensorInfo.broadcast(List.of(Arrays.copyOf(sa, sa.length - 2), Arrays.copyOf(sb, sb.length - 2)));
        if (ctx.requiresGradient(0)) {
            String pre = ta ? fmm(ctx, b, g, tb, true, alpha) : fmm(ctx, g, b, false, !tb, alpha);
            Object[] ps = batch == null ? null : concat(batch, Arrays.copyOfRange(sa, sa.length - 2, sa.length));
            ctx.addInputGradient(0, Broadcasting.reduceTo(ctx, pre, ps, a, sa));
        }
        if (ctx.requiresGradient(1)) {
            String pre = tb ? fmm(ctx, g, a, true, ta, alpha) : fmm(ctx, a, g, !ta, false, alpha);
            Object[] ps = batch == null ? null : concat(batch, Arrays.copyOfRange(sb, sb.length - 2, sb.length));
            ctx.addInputGradient(1, Broadcasting.reduceTo(ctx, pre, ps, b, sb));
        }
    }

    private static String fmm(GradientContext ctx, String x, String y, boolean tx, boolean ty, float alpha) {
        String out = ctx.msOp("FusedMatMul", x, y);
        if (tx) {
            ctx.last().attr("transA", 1L);
        }
        if (ty) {
            ctx.last().attr("transB", 1L);
        }
        if (alpha != 1f) {
            ctx.last().attr("alpha", alpha);
        }
        return out;
    }
}
