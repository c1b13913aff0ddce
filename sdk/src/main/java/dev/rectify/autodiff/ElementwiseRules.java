package dev.rectify.autodiff;

import static dev.rectify.autodiff.OpSpec.Inputs.allBut;
import static dev.rectify.autodiff.OpSpec.Inputs.only;
import static dev.rectify.autodiff.ShapeFunctions.BROADCAST;
import static dev.rectify.autodiff.ShapeFunctions.CAST;
import static dev.rectify.autodiff.ShapeFunctions.DROPOUT;
import static dev.rectify.autodiff.ShapeFunctions.SAME;
import static dev.rectify.autodiff.ShapeFunctions.WHERE;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.ResolvedInput;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Optional;

/**
 * Element-wise arithmetic with numpy broadcasting (every input gradient is summed back to the input's shape with
 * {@link Broadcasting}): Add, Sub, Mul, Div, Pow, Max, Min, Sum, Mean, Where, and the unary Neg, Sqrt, Reciprocal,
 * Exp, Log, Sin, Cos, Abs, Erf, Identity, Cast, Clip, Dropout.
 */
final class ElementwiseRules {
    private ElementwiseRules() {}

    static void register(OpRegistry.Builder m) {
        m.add(OpSpec.of("Add").shape(BROADCAST).gradient(ctx -> addSub(ctx, false)));
        m.add(OpSpec.of("Sub").shape(BROADCAST).gradient(ctx -> addSub(ctx, true)));
        m.add(OpSpec.of("Mul").shape(BROADCAST).gradient(ElementwiseRules::mul));
        m.add(OpSpec.of("Div").shape(BROADCAST).gradient(ElementwiseRules::div));
        m.add(OpSpec.of("Pow").shape(BROADCAST).gradient(ElementwiseRules::pow));
        m.add(OpSpec.of("Neg").shape(SAME).gradient(ctx -> ctx.addInputGradient(0, ctx.op("Neg", dY(ctx)))));
        m.add(OpSpec.of("Sqrt").shape(SAME).gradient(ctx -> {
            // dX = dY * 0.5 / Y
            String half = ctx.op("Mul", dY(ctx), ctx.scalarLike(0.5, ctx.output(0)));
            ctx.addInputGradient(0, ctx.op("Div", half, ctx.output(0)));
        }));
        m.add(OpSpec.of("Reciprocal").shape(SAME).gradient(ctx -> {
            // dX = -dY * Y^2
            String yy = ctx.op("Mul", ctx.output(0), ctx.output(0));
            ctx.addInputGradient(0, ctx.op("Neg", ctx.op("Mul", dY(ctx), yy)));
        }));
        m.add(OpSpec.of("Exp")
                .shape(SAME)
                .gradient(ctx -> ctx.addInputGradient(0, ctx.op("Mul", dY(ctx), ctx.output(0)))));
        m.add(OpSpec.of("Log")
                .shape(SAME)
                .gradient(ctx -> ctx.addInputGradient(0, ctx.op("Div", dY(ctx), ctx.input(0)))));
        m.add(OpSpec.of("Sin")
                .shape(SAME)
                .gradient(ctx -> ctx.addInputGradient(0, ctx.op("Mul", dY(ctx), cos(ctx, ctx.input(0))))));
        m.add(OpSpec.of("Cos")
                .shape(SAME)
                .gradient(ctx ->
                        ctx.addInputGradient(0, ctx.op("Neg", ctx.op("Mul", dY(ctx), ctx.op("Sin", ctx.input(0)))))));
        m.add(OpSpec.of("Abs")
                .shape(SAME)
                .gradient(ctx -> ctx.addInputGradient(0, ctx.op("Mul", dY(ctx), ctx.op("Sign", ctx.input(0))))));
        m.add(OpSpec.of("Erf").shape(SAME).gradient(ctx -> {
            // dX = dY * 2/sqrt(pi) * exp(-X^2)
            String x = ctx.input(0);
            String e = ctx.op("Exp", ctx.op("Neg", ctx.op("Mul", x, x)));
            String c = ctx.op("Mul", e, ctx.scalarLike(2.0 / Math.sqrt(Math.PI), x));
            ctx.addInputGradient(0, ctx.op("Mul", dY(ctx), c));
        }));
        m.add(OpSpec.of("Identity").shape(ShapeFunctions.IDENTITY).gradient(ctx -> ctx.addInputGradient(0, dY(ctx))));
        m.add(OpSpec.of("Cast")
                .shape(CAST)
                .inputs(ElementwiseRules::castCarriesGradient)
                .gradient(ElementwiseRules::cast));
        m.add(OpSpec.of("Max").shape(BROADCAST).gradient(ElementwiseRules::minMax));
        m.add(OpSpec.of("Min").shape(BROADCAST).gradient(ElementwiseRules::minMax));
        m.add(OpSpec.of("Sum").shape(BROADCAST).gradient(ctx -> {
            for (int i = 0; i < ctx.inputCount(); i++) {
                if (ctx.requiresGradient(i)) {
                    ctx.addInputGradient(i, ctx.unbroadcastFromOutput(dY(ctx), i, 0));
                }
            }
        }));
        m.add(OpSpec.of("Mean").shape(BROADCAST).gradient(ctx -> {
            String g = ctx.op("Mul", dY(ctx), ctx.scalarLike(1.0 / ctx.inputCount(), ctx.output(0)));
            for (int i = 0; i < ctx.inputCount(); i++) {
                if (ctx.requiresGradient(i)) {
                    ctx.addInputGradient(i, ctx.unbroadcastFromOutput(g, i, 0));
                }
            }
        }));
        m.add(OpSpec.of("Where").shape(WHERE).inputs(allBut(0)).gradient(ElementwiseRules::where));
        m.add(OpSpec.of("Clip").shape(SAME).inputs(only(0)).gradient(ElementwiseRules::clip));
        m.add(OpSpec.of("Dropout").shape(DROPOUT).inputs(only(0)).gradient(ElementwiseRules::dropout));
    }

    /** Cast carries gradient only to a floating-point type. */
    private static boolean castCarriesGradient(Node node, int i) {
        return TensorInfo.isFloat((int) Attributes.getInt(node, "to", 0));
    }

    static String dY(GradientContext ctx) {
        return ctx.outputGradient(0);
    }

    private static String cos(GradientContext ctx, String x) {
        if (ctx.elemType(x) == DataType.DOUBLE_VALUE) {
            // ORT's CPU Cos has no double kernel: cos(x) = sin(x + pi/2)
            return ctx.op("Sin", ctx.op("Add", x, ctx.scalarLike(Math.PI / 2, x)));
        }
        return ctx.op("Cos", x);
    }

    private static void addSub(GradientContext ctx, boolean sub) {
        String g = dY(ctx);
        if (ctx.requiresGradient(0)) {
            ctx.addInputGradient(0, ctx.unbroadcastFromOutput(g, 0, 0));
        }
        if (ctx.requiresGradient(1)) {
            String r = ctx.unbroadcastFromOutput(g, 1, 0);
            ctx.addInputGradient(1, sub ? ctx.op("Neg", r) : r);
        }
    }

    private static void mul(GradientContext ctx) {
        String g = dY(ctx);
        if (ctx.requiresGradient(0)) {
            ctx.addInputGradient(0, ctx.unbroadcastFromOutput(ctx.op("Mul", g, ctx.input(1)), 0, 0));
        }
        if (ctx.requiresGradient(1)) {
            ctx.addInputGradient(1, ctx.unbroadcastFromOutput(ctx.op("Mul", g, ctx.input(0)), 1, 0));
        }
    }

    private static void div(GradientContext ctx) {
        String g = dY(ctx);
        String b = ctx.input(1);
        if (ctx.requiresGradient(0)) {
            ctx.addInputGradient(0, ctx.unbroadcastFromOutput(ctx.op("Div", g, b), 0, 0));
        }
        if (ctx.requiresGradient(1)) {
            // dB = -dY * Y / B
            String t = ctx.op("Neg", ctx.op("Div", ctx.op("Mul", g, ctx.output(0)), b));
            ctx.addInputGradient(1, ctx.unbroadcastFromOutput(t, 1, 0));
        }
    }

    private static void pow(GradientContext ctx) {
        String g = dY(ctx);
        String x = ctx.input(0);
        String e = ctx.input(1);
        if (ctx.requiresGradient(0)) {
            Optional<Double> c = scalarConstant(ctx, e);
            String grad;
            if (c.isPresent() && c.get() == 2.0) {
                grad = ctx.op("Mul", g, ctx.op("Mul", x, ctx.scalarLike(2.0, x)));
            } else if (c.isPresent() && c.get() == 1.0) {
                grad = g;
            } else if (c.isPresent()) {
                String p = ctx.op("Pow", x, ctx.scalarLike(c.get() - 1.0, x));
                grad = ctx.op("Mul", g, ctx.op("Mul", p, ctx.scalarLike(c.get(), x)));
            } else {
                // exponent of another type (e.g. int64 since Pow-12) is cast to X's type first
                String ef = sameType(ctx, e, x);
                String p = ctx.op("Pow", x, ctx.op("Sub", ef, ctx.scalarLike(1.0, x)));
                grad = ctx.op("Mul", g, ctx.op("Mul", p, ef));
            }
            ctx.addInputGradient(0, ctx.unbroadcastFromOutput(grad, 0, 0));
        }
        if (ctx.requiresGradient(1)) {
            // dE = dY * Y * ln(X), defined for X > 0 (0 elsewhere, as torch does at X = 0)
            String pos = ctx.op("Greater", x, ctx.scalarLike(0.0, x));
            String safe = ctx.op("Where", pos, x, ctx.scalarLike(1.0, x));
            String t = ctx.op("Mul", ctx.op("Mul", g, ctx.output(0)), ctx.op("Log", safe));
            t = ctx.op("Where", pos, t, ctx.scalarLike(0.0, x));
            ctx.addInputGradient(1, ctx.unbroadcastFromOutput(t, 1, 0));
        }
    }

    private static String sameType(GradientContext ctx, String t, String like) {
        int te = ctx.elemType(t);
        int tx = ctx.elemType(like);
        if (te != 0 && te == tx) {
            return t;
        }
        if (tx != 0) {
            String c = ctx.op("Cast", t);
            ctx.last().attr("to", (long) tx);
            return c;
        }
        return ctx.opset() >= 15 ? ctx.op("CastLike", t, like) : t;
    }

    /** The value of a one-element constant tensor. */
    static Optional<Double> scalarConstant(GradientContext ctx, String t) {
        Optional<TensorProto> c = ctx.constant(t);
        if (c.isEmpty() || Tensors.numElements(c.get()) != 1) {
            return Optional.empty();
        }
        TensorProto p = c.get();
        if (TensorInfo.isFloat(p.getDataType())) {
            return Optional.of((double) Tensors.toFloatArray(p)[0]);
        }
        return Optional.of((double) Tensors.toLongArray(p)[0]);
    }

    private static void cast(GradientContext ctx) {
        String g = dY(ctx);
        int tx = ctx.elemType(ctx.input(0));
        int ty = ctx.elemType(ctx.output(0));
        if (tx != 0 && tx == ty) {
            ctx.addInputGradient(0, g);
        } else if (tx != 0) {
            String c = ctx.op("Cast", g);
            ctx.last().attr("to", (long) tx);
            ctx.addInputGradient(0, c);
        } else {
            ctx.addInputGradient(0, ctx.op("CastLike", g, ctx.input(0)));
        }
    }

    /** Max/Min: the gradient goes to the inputs equal to the output; ties split it evenly (as ORT and torch do). */
    private static void minMax(GradientContext ctx) {
        String g = dY(ctx);
        String y = ctx.output(0);
        int n = ctx.inputCount();
        if (n == 1) {
            ctx.addInputGradient(0, g);
            return;
        }
        String[] masks = new String[n];
        for (int i = 0; i < n; i++) {
            masks[i] =
                    ctx.op("Where", ctx.op("Equal", ctx.input(i), y), ctx.scalarLike(1.0, y), ctx.scalarLike(0.0, y));
        }
        String count = ctx.op("Sum", masks);
        String share = ctx.op("Div", g, count);
        for (int i = 0; i < n; i++) {
            if (ctx.requiresGradient(i)) {
                ctx.addInputGradient(i, ctx.unbroadcastFromOutput(ctx.op("Mul", share, masks[i]), i, 0));
            }
        }
    }

    private static void where(GradientContext ctx) {
        String g = dY(ctx);
        String cond = ctx.input(0);
        String zero = ctx.scalarLike(0.0, ctx.output(0));
        if (ctx.requiresGradient(1)) {
            ctx.addInputGradient(1, ctx.unbroadcastFromOutput(ctx.op("Where", cond, g, zero), 1, 0));
        }
        if (ctx.requiresGradient(2)) {
            ctx.addInputGradient(2, ctx.unbroadcastFromOutput(ctx.op("Where", cond, zero, g), 2, 0));
        }
    }

    /** Clip: dX = dY where min ≤ X ≤ max (inclusive, like ORT and torch.clamp), else 0. */
    private static void clip(GradientContext ctx) {
        String x = ctx.input(0);
        ResolvedInput min = ctx.params().clipMin(ctx.node());
        ResolvedInput max = ctx.params().clipMax(ctx.node());
        String mask = null;
        if (!min.isAbsent()) {
            String lo = bound(ctx, min, x);
            mask = ctx.op("Not", ctx.op("Less", x, lo));
        }
        if (!max.isAbsent()) {
            String hi = bound(ctx, max, x);
            String m2 = ctx.op("Not", ctx.op("Greater", x, hi));
            mask = mask == null ? m2 : ctx.op("And", mask, m2);
        }
        if (mask == null) {
            ctx.addInputGradient(0, dY(ctx));
            return;
        }
        ctx.addInputGradient(0, ctx.op("Where", mask, dY(ctx), ctx.scalarLike(0.0, x)));
    }

    private static String bound(GradientContext ctx, ResolvedInput r, String x) {
        if (r.fromAttribute()) {
            return ctx.scalarLike(r.floats()[0], x);
        }
        return r.tensorName().orElseThrow();
    }

    /**
     * Dropout: the identity when not training (no training_mode input, or a constant false one, or opset < 12 where
     * ORT runs Dropout as the identity); else dX = dY ⊙ mask / (1 − ratio), selected at run time by training_mode
     * when that is not a constant. The mask output is added to the forward node when missing.
     */
    private static void dropout(GradientContext ctx) {
        String g = dY(ctx);
        String x = ctx.input(0);
        String training = ctx.input(2);
        if (ctx.opset() < 12 || training.isEmpty()) {
            ctx.addInputGradient(0, g);
            return;
        }
        Optional<TensorProto> tc = ctx.constant(training);
        if (tc.isPresent() && Tensors.toLongArray(tc.get())[0] == 0) {
            ctx.addInputGradient(0, g);
            return;
        }
        ResolvedInput ratio = ctx.params().dropoutRatio(ctx.node());
        if (ratio.isConstant() && ratio.floats()[0] == 0f) {
            ctx.addInputGradient(0, g);
            return;
        }
        String mask = ctx.output(1);
        if (mask.isEmpty()) {
            mask = ctx.fresh(ctx.output(0) + "_mask");
            while (ctx.node().outputs().size() < 2) {
                ctx.node().outputs().add("");
            }
            ctx.node().outputs().set(1, mask);
            ctx.describe(mask, DataType.BOOL_VALUE, Optional.empty());
        }
        String scale;
        if (ratio.isConstant()) {
            scale = ctx.scalarLike(1.0 / (1.0 - ratio.floats()[0]), x);
        } else if (ratio.isAbsent()) {
            scale = ctx.scalarLike(2.0, x);
        } else {
            String r = sameType(ctx, ratio.tensorName().orElseThrow(), x);
            scale = ctx.op("Reciprocal", ctx.op("Sub", ctx.scalarLike(1.0, x), r));
        }
        String masked = ctx.op("Mul", ctx.op("Where", mask, g, ctx.scalarLike(0.0, x)), scale);
        if (tc.isPresent()) {
            ctx.addInputGradient(0, masked);
        } else {
            ctx.addInputGradient(0, ctx.op("Where", training, masked, g));
        }
    }
}
