package dev.rectify.autodiff;

import static dev.rectify.autodiff.ShapeFunctions.GEMM;
import static dev.rectify.autodiff.ShapeFunctions.MATMUL;

import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;

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
    private MatMulRules() {}

    static void register(OpRegistry.Builder m) {
        m.add(OpSpec.of("MatMul").shape(MATMUL).gradient(MatMulRules::matmul));
        m.add(OpSpec.of("Gemm").shape(GEMM).gradient(MatMulRules::gemm));
        m.add(OpSpec.of(OnnxModel.MICROSOFT + ":FusedMatMul").shape(MATMUL).gradient(MatMulRules::fusedMatMul));
    }

    /**
     * FusedMatMul's types: FLOAT (CPU and CUDA), FLOAT16 and BFLOAT16 (CUDA, as mixed-precision products need: the CPU
     * has no half MatMul either).
     */
    private static boolean fusedMatMulType(GradientContext ctx, String t) {
        int type = ctx.elemType(t);
        return type == DataType.FLOAT_VALUE || type == DataType.FLOAT16_VALUE || type == DataType.BFLOAT16_VALUE;
    }

    private static void matmul(GradientContext ctx) {
        String g = ctx.outputGradient(0);
        String a = ctx.input(0);
        String b = ctx.input(1);
        int ra = ctx.rank(a);
        int rb = ctx.rank(b);
        if (ra < 0 || rb < 0) {
            if (!fusedMatMulType(ctx, a) || !fusedMatMulType(ctx, b)) {
                throw ctx.unsupported("operands of unknown rank are only supported for FLOAT, FLOAT16 and BFLOAT16 "
                        + "(through com.microsoft.FusedMatMul)");
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
        Shape sa = ctx.shape(a).orElseThrow();
        Shape sb = ctx.shape(b).orElseThrow();
        String a2 = a;
        String b2 = b;
        if (ra == 1) {
            a2 = ctx.unsqueeze(a, 0);
            sa = Shape.of(1).concat(sa);
        }
        if (rb == 1) {
            b2 = ctx.unsqueeze(b, 1);
            sb = sb.concat(Shape.of(1));
        }
        if (ra == 1 && rb == 1) {
            g = ctx.reshape(g, ctx.ints(1, 1));
        } else if (ra == 1) {
            g = ctx.unsqueeze(g, -2);
        } else if (rb == 1) {
            g = ctx.unsqueeze(g, -1);
        }
        int rA = sa.rank();
        int rB = sb.rank();
        Shape batch = Shape.broadcast(List.of(sa.sub(0, rA - 2), sb.sub(0, rB - 2)));
        if (ctx.requiresGradient(0)) {
            String pre = ctx.op("MatMul", g, ctx.swapLastTwo(b2, rB));
            String d = Broadcasting.reduceTo(ctx, pre, batch.concat(sa.sub(rA - 2, rA)), a2, sa);
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
                d = Broadcasting.reduceTo(ctx, pre, batch.concat(sb.sub(rB - 2, rB)), b2, sb);
                if (rb == 1) {
                    d = ctx.squeeze(d, 1);
                }
            }
            ctx.addInputGradient(1, d);
        }
    }

    /** The shape [-1, last dim of t] as an INT64 tensor (a constant when the dim is known). */
    private static String minusOneAndLast(GradientContext ctx, String t, Shape shape) {
        long last = shape.rank() == 0 ? 0 : shape.dim(-1).value().orElse(0L);
        if (last > 0) {
            return ctx.ints(-1, last);
        }
        String tail = ctx.op("Slice", ctx.shapeOf(t), ctx.ints(-1), ctx.ints(Long.MAX_VALUE));
        String dims = ctx.op("Concat", ctx.ints(-1), tail);
        ctx.last().attr("axis", 0L);
        return dims;
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
            throw ctx.unsupported("transBatchA/transBatchB are not supported");
        }
        String g = ctx.outputGradient(0);
        String a = ctx.input(0);
        String b = ctx.input(1);
        boolean ta = ctx.attrInt("transA", 0) != 0;
        boolean tb = ctx.attrInt("transB", 0) != 0;
        float alpha = ctx.attrFloat("alpha", 1f);
        Shape sa = ctx.shape(a).orElse(null);
        Shape sb = ctx.shape(b).orElse(null);
        Shape batch = sa == null || sb == null || sa.rank() < 2 || sb.rank() < 2
                ? null
                : Shape.broadcast(List.of(sa.sub(0, sa.rank() - 2), sb.sub(0, sb.rank() - 2)));
        if (ctx.requiresGradient(0)) {
            String pre = ta ? fmm(ctx, b, g, tb, true, alpha) : fmm(ctx, g, b, false, !tb, alpha);
            Shape ps = batch == null ? null : batch.concat(sa.sub(sa.rank() - 2, sa.rank()));
            ctx.addInputGradient(0, Broadcasting.reduceTo(ctx, pre, ps, a, sa));
        }
        if (ctx.requiresGradient(1)) {
            String pre = tb ? fmm(ctx, g, a, true, ta, alpha) : fmm(ctx, a, g, !ta, false, alpha);
            Shape ps = batch == null ? null : batch.concat(sb.sub(sb.rank() - 2, sb.rank()));
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
