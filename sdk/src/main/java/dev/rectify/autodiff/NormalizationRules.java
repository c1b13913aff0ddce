package dev.rectify.autodiff;

import static dev.rectify.autodiff.ShapeFunctions.NORMALIZATION;

import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;
import java.util.Optional;

/**
 * LayerNormalization (ONNX-17 and ORT's own schema), SimplifiedLayerNormalization (RMSNorm; ORT registers it in the
 * ONNX domain only) and ONNX RMSNormalization-23. FLOAT tensors use com.microsoft
 * LayerNormalizationGrad / SimplifiedLayerNormalizationGrad, which need the forward's Mean/InvStdDev
 * (inv_std_var) outputs: they are added to the forward node when it lacks them (RMSNormalization-23 has no such
 * output; its inverse RMS is recomputed). Other types get the same math in standard ops.
 */
final class NormalizationRules {
    private NormalizationRules() {}

    static void register(OpRegistry.Builder m) {
        m.add(OpSpec.of("LayerNormalization").shape(NORMALIZATION).gradient(NormalizationRules::layerNorm));
        m.add(OpSpec.of("SimplifiedLayerNormalization").shape(NORMALIZATION).gradient(ctx -> rms(ctx, false)));
        m.add(OpSpec.of("RMSNormalization").shape(NORMALIZATION).gradient(ctx -> rms(ctx, true)));
    }

    /** Output {@code i} of the forward node, added under a fresh name (type {@code stash}) when absent. */
    private static String ensureOutput(GradientContext ctx, int i, String hint) {
        String o = ctx.output(i);
        if (!o.isEmpty()) {
            return o;
        }
        o = ctx.fresh(ctx.output(0) + "_" + hint);
        List<String> outs = ctx.node().outputs();
        while (outs.size() <= i) {
            outs.add("");
        }
        outs.set(i, o);
        Optional<Shape> st = ctx.shape(ctx.input(0)).map(sx -> {
            Shape stats = sx;
            for (int k = normStart(ctx, sx.rank()); k < sx.rank(); k++) {
                stats = stats.with(k, Dim.of(1));
            }
            return stats;
        });
        ctx.describe(o, (int) ctx.attrInt("stash_type", DataType.FLOAT_VALUE), st);
        return o;
    }

    private static int normStart(GradientContext ctx, int rank) {
        long axis = ctx.attrInt("axis", -1);
        return (int) (axis < 0 ? axis + rank : axis);
    }

    private static long[] normAxes(GradientContext ctx, String x) {
        int r = ctx.rank(x);
        if (r < 0) {
            throw ctx.unsupported("the rank of input '" + x + "' must be known for non-float tensors");
        }
        int a = normStart(ctx, r);
        long[] axes = new long[r - a];
        for (int i = a; i < r; i++) {
            axes[i - a] = i;
        }
        return axes;
    }

    private static boolean fused(GradientContext ctx, String x, String stat) {
        return ctx.isFloat32(x) && ctx.elemType(stat) == DataType.FLOAT_VALUE && ctx.isFloat32(ctx.input(1));
    }

    private static void layerNorm(GradientContext ctx) {
        String g = ctx.outputGradient(0);
        String x = ctx.input(0);
        String scale = ctx.input(1);
        String bias = ctx.input(2);
        String mean = ensureOutput(ctx, 1, "mean");
        String inv = ensureOutput(ctx, 2, "inv_std_dev");
        if (fused(ctx, x, inv)) {
            String dx = ctx.fresh("dx");
            String ds = ctx.fresh("dscale");
            String db = ctx.fresh("dbias");
            ctx.emit(
                            OnnxModel.MICROSOFT,
                            "LayerNormalizationGrad",
                            List.of(g, x, scale, mean, inv),
                            List.of(dx, ds, db))
                    .attr("axis", ctx.attrInt("axis", -1));
            ctx.addInputGradient(0, dx);
            ctx.addInputGradient(1, ds);
            ctx.addInputGradient(2, db);
            return;
        }
        long[] axes = normAxes(ctx, x);
        String mu = ctx.castLike(mean, x);
        String r = ctx.castLike(inv, x);
        String xhat = ctx.op("Mul", ctx.op("Sub", x, mu), r);
        Optional<Shape> ys = ctx.shape(ctx.output(0));
        if (ctx.requiresGradient(0)) {
            // dX = r (gs - mean(gs) - xhat mean(gs xhat)), gs = scale dY
            String gs = ctx.op("Mul", g, scale);
            String m1 = ctx.reduceMean(gs, axes, true);
            String m2 = ctx.reduceMean(ctx.op("Mul", gs, xhat), axes, true);
            String inner = ctx.op("Sub", ctx.op("Sub", gs, m1), ctx.op("Mul", xhat, m2));
            ctx.addInputGradient(0, ctx.op("Mul", r, inner));
        }
        if (ctx.requiresGradient(1)) {
            ctx.addInputGradient(1, ctx.unbroadcast(ctx.op("Mul", g, xhat), scale, ys));
        }
        if (!bias.isEmpty() && ctx.requiresGradient(2)) {
            ctx.addInputGradient(2, ctx.unbroadcast(g, bias, ys));
        }
    }

    private static void rms(GradientContext ctx, boolean onnx23) {
        String g = ctx.outputGradient(0);
        String x = ctx.input(0);
        String scale = ctx.input(1);
        String inv;
        if (onnx23) {
            // r = 1 / sqrt(mean(x^2) + eps), recomputed in X's type
            long[] axes = normAxes(ctx, x);
            String ms = ctx.reduceMean(ctx.op("Mul", x, x), axes, true);
            String eps = ctx.scalarLike(ctx.attrFloat("epsilon", 1e-5f), x);
            inv = ctx.op("Reciprocal", ctx.op("Sqrt", ctx.op("Add", ms, eps)));
            ctx.describe(inv, ctx.elemType(x), Optional.empty());
        } else {
            inv = ensureOutput(ctx, 1, "inv_std_var");
        }
        if (fused(ctx, x, inv)) {
            String dx = ctx.fresh("dx");
            String ds = ctx.fresh("dscale");
            ctx.emit(
                            OnnxModel.MICROSOFT,
                            "SimplifiedLayerNormalizationGrad",
                            List.of(g, x, scale, inv),
                            List.of(dx, ds))
                    .attr("axis", ctx.attrInt("axis", -1));
            ctx.addInputGradient(0, dx);
            ctx.addInputGradient(1, ds);
            return;
        }
        long[] axes = normAxes(ctx, x);
        String r = ctx.castLike(inv, x);
        if (ctx.requiresGradient(0)) {
            // dX = r gs - x r^3 mean(x gs), gs = scale dY
            String gs = ctx.op("Mul", g, scale);
            String m = ctx.reduceMean(ctx.op("Mul", x, gs), axes, true);
            String r3 = ctx.op("Mul", ctx.op("Mul", r, r), r);
            String dx = ctx.op("Sub", ctx.op("Mul", r, gs), ctx.op("Mul", ctx.op("Mul", x, r3), m));
            ctx.addInputGradient(0, dx);
        }
        if (ctx.requiresGradient(1)) {
            String t = ctx.op("Mul", g, ctx.op("Mul", x, r));
            ctx.addInputGradient(1, ctx.unbroadcast(t, scale, ctx.shape(ctx.output(0))));
        }
    }
}
