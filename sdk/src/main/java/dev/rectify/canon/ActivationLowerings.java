package dev.rectify.canon;

import dev.rectify.onnx.Node;
import java.util.Map;

/**
 * Activation and matmul fusions lowered to elementwise ONNX ops: com.microsoft FastGelu (tanh GELU, optional
 * bias), BiasGelu and Gelu (erf GELU), QuickGelu (x·sigmoid(αx)), FusedMatMul (αA'B' with transA/transB), and
 * ONNX CastLike (a Cast to the target's type, for opsets and rules that lack it).
 */
final class ActivationLowerings {
    private static final double SQRT_2_OVER_PI = 0.7978845608028654;
    private static final double FAST_GELU_CUBIC = 0.044715;

    private ActivationLowerings() {}

    static void register(Map<String, OpLowering> m) {
        m.put(Canonicalizer.ms("FastGelu"), ActivationLowerings::fastGelu);
        m.put(Canonicalizer.ms("BiasGelu"), ctx -> erfGelu(ctx, true));
        m.put(Canonicalizer.ms("Gelu"), ctx -> erfGelu(ctx, false));
        m.put(Canonicalizer.ms("QuickGelu"), ActivationLowerings::quickGelu);
        m.put(Canonicalizer.ms("FusedMatMul"), ActivationLowerings::fusedMatMul);
        m.put("CastLike", ActivationLowerings::castLike);
    }

    /** x (+ bias) in the compute type. */
    private static String input(Lower ctx, boolean withBias) {
        String x = ctx.up(ctx.in(0));
        return withBias && ctx.has(1) ? ctx.op("Add", x, ctx.up(ctx.in(1))) : x;
    }

    /** y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    private static void fastGelu(Lower ctx) {
        int t = ctx.type(ctx.in(0));
        int ct = Lower.computeType(t);
        String x = input(ctx, true);
        String x3 = ctx.op("Mul", ctx.op("Mul", x, x), x);
        String inner = ctx.op("Add", x, ctx.op("Mul", x3, ctx.scalar(FAST_GELU_CUBIC, ct)));
        String th = ctx.op("Tanh", ctx.op("Mul", inner, ctx.scalar(SQRT_2_OVER_PI, ct)));
        String y = ctx.op("Mul", ctx.op("Mul", x, ctx.scalar(0.5, ct)), ctx.op("Add", th, ctx.scalar(1.0, ct)));
        NormLowerings.finish(ctx, y, ctx.out(0), t, ct);
    }

    /** y = 0.5·x·(1 + erf(x/√2)). */
    private static void erfGelu(Lower ctx, boolean withBias) {
        int t = ctx.type(ctx.in(0));
        int ct = Lower.computeType(t);
        String x = input(ctx, withBias);
        String e = ctx.op("Erf", ctx.op("Mul", x, ctx.scalar(Math.sqrt(0.5), ct)));
        String y = ctx.op("Mul", ctx.op("Mul", x, ctx.scalar(0.5, ct)), ctx.op("Add", e, ctx.scalar(1.0, ct)));
        NormLowerings.finish(ctx, y, ctx.out(0), t, ct);
    }

    /** y = x·sigmoid(alpha·x), alpha defaulting to 1.702. */
    private static void quickGelu(Lower ctx) {
        int t = ctx.type(ctx.in(0));
        int ct = Lower.computeType(t);
        String x = ctx.up(ctx.in(0));
        double alpha = ctx.attr("alpha", 1.702f);
        String s = ctx.op("Sigmoid", alpha == 1.0 ? x : ctx.op("Mul", x, ctx.scalar(alpha, ct)));
        NormLowerings.finish(ctx, ctx.op("Mul", x, s), ctx.out(0), t, ct);
    }

    /** Y = alpha · op(A) · op(B), op transposing the last two axes when transA / transB is set. */
    private static void fusedMatMul(Lower ctx) {
        if (ctx.attr("transBatchA", 0L) != 0 || ctx.attr("transBatchB", 0L) != 0) {
            throw ctx.fail(
                    "transBatchA/transBatchB are not supported",
                    "Export the model without ONNX Runtime's "
                            + "MatMul-transpose fusion (session optimization level basic or below) to train it");
        }
        String a = lastTwoSwapped(ctx, ctx.in(0), ctx.attr("transA", 0L) != 0);
        String b = lastTwoSwapped(ctx, ctx.in(1), ctx.attr("transB", 0L) != 0);
        String y = ctx.op("MatMul", a, b);
        double alpha = ctx.attr("alpha", 1.0f);
        if (alpha == 1.0) {
            ctx.to(ctx.out(0), "Identity", y);
        } else {
            ctx.to(ctx.out(0), "Mul", y, ctx.scalar(alpha, ctx.type(ctx.in(0))));
        }
    }

    private static String lastTwoSwapped(Lower ctx, String x, boolean swap) {
        if (!swap) {
            return x;
        }
        int r = ctx.rank(x);
        if (r < 2) {
            throw ctx.fail("transposing '" + x + "' of rank " + r, "FusedMatMul's transA/transB need rank >= 2");
        }
        long[] perm = new long[r];
        for (int i = 0; i < r; i++) {
            perm[i] = i;
        }
        perm[r - 2] = r - 1;
        perm[r - 1] = r - 2;
        return ctx.transpose(x, perm);
    }

    private static void castLike(Lower ctx) {
        Node n = ctx.to(ctx.out(0), "Cast", ctx.in(0)).attr("to", (long) ctx.type(ctx.in(1)));
        ctx.node.attribute("saturate").ifPresent(n::attr);
    }
}
