package dev.rectify.autodiff;

import static dev.rectify.autodiff.ShapeFunctions.SAME;

import dev.rectify.onnx.OnnxModel;

/**
 * Activations: Relu, Sigmoid, Tanh, Softmax, LogSoftmax (single-axis semantics from opset 13, coerced-2D before),
 * ONNX Gelu-20 (both approximations) and com.microsoft Gelu/FastGelu. For FLOAT tensors they use the fused
 * com.microsoft kernels (ReluGrad, SigmoidGrad, TanhGrad, SoftmaxGrad(_13), LogSoftmaxGrad(_13), GeluGrad,
 * FastGeluGrad), whose CPU versions are float-only; other types get the same math in standard ops.
 */
final class ActivationRules {
    private ActivationRules() {}

    static void register(OpRegistry.Builder m) {
        m.add(OpSpec.of("Relu").shape(SAME).gradient(ctx -> {
            String x = ctx.input(0);
            if (ctx.isFloat32(x)) {
                ctx.addInputGradient(0, ctx.msOp("ReluGrad", dY(ctx), x));
            } else {
                String pos = ctx.op("Greater", x, ctx.scalarLike(0.0, x));
                ctx.addInputGradient(0, ctx.op("Where", pos, dY(ctx), ctx.scalarLike(0.0, x)));
            }
        }));
        m.add(OpSpec.of("Sigmoid").shape(SAME).gradient(ctx -> {
            String y = ctx.output(0);
            if (ctx.isFloat32(y)) {
                ctx.addInputGradient(0, ctx.msOp("SigmoidGrad", dY(ctx), y));
            } else {
                String oneMinus = ctx.op("Sub", ctx.scalarLike(1.0, y), y);
                ctx.addInputGradient(0, ctx.op("Mul", dY(ctx), ctx.op("Mul", y, oneMinus)));
            }
        }));
        m.add(OpSpec.of("Tanh").shape(SAME).gradient(ctx -> {
            String y = ctx.output(0);
            if (ctx.isFloat32(y)) {
                ctx.addInputGradient(0, ctx.msOp("TanhGrad", dY(ctx), y));
            } else {
                String oneMinus = ctx.op("Sub", ctx.scalarLike(1.0, y), ctx.op("Mul", y, y));
                ctx.addInputGradient(0, ctx.op("Mul", dY(ctx), oneMinus));
            }
        }));
        m.add(OpSpec.of("Softmax").shape(SAME).gradient(ctx -> softmax(ctx, false)));
        m.add(OpSpec.of("LogSoftmax").shape(SAME).gradient(ctx -> softmax(ctx, true)));
        m.add(OpSpec.of("Gelu")
                .shape(SAME)
                .gradient(ctx -> gelu(ctx, ctx.attrString("approximate", "none").equals("tanh"), false)));
        m.add(OpSpec.of(OnnxModel.MICROSOFT + ":Gelu").shape(SAME).gradient(ctx -> gelu(ctx, false, false)));
        m.add(OpSpec.of(OnnxModel.MICROSOFT + ":FastGelu").shape(SAME).gradient(ctx -> gelu(ctx, true, true)));
    }

    private static String dY(GradientContext ctx) {
        return ctx.outputGradient(0);
    }

    private static void softmax(GradientContext ctx, boolean log) {
        String g = dY(ctx);
        String y = ctx.output(0);
        boolean modern = ctx.opset() >= 13;
        long axis = ctx.attrInt("axis", modern ? -1 : 1);
        String kernel = (log ? "LogSoftmaxGrad" : "SoftmaxGrad") + (modern ? "_13" : "");
        if (ctx.isFloat32(y)) {
            ctx.addInputGradient(0, ctx.msOp(kernel, g, y));
            ctx.last().attr("axis", axis);
            return;
        }
        int rank = ctx.rank(y);
        boolean coerce = !modern && !(rank >= 0 && (axis == rank - 1 || axis == -1));
        String yy = y;
        String gg = g;
        long ax = axis;
        if (coerce) {
            yy = ctx.op("Flatten", y);
            ctx.last().attr("axis", axis);
            gg = ctx.op("Flatten", g);
            ctx.last().attr("axis", axis);
            ax = 1;
        }
        String dx;
        if (log) {
            // dX = dY - exp(Y) * sum(dY)
            String s = ctx.reduceSum(gg, new long[] {ax}, true);
            dx = ctx.op("Sub", gg, ctx.op("Mul", ctx.op("Exp", yy), s));
        } else {
            // dX = Y * (dY - sum(dY * Y))
            String s = ctx.reduceSum(ctx.op("Mul", gg, yy), new long[] {ax}, true);
            dx = ctx.op("Mul", yy, ctx.op("Sub", gg, s));
        }
        if (coerce) {
            dx = ctx.reshape(dx, ctx.shapeOf(y));
        }
        ctx.addInputGradient(0, dx);
    }

    /** GELU: exact (erf) or tanh approximation; com.microsoft FastGelu may add a bias input first. */
    private static void gelu(GradientContext ctx, boolean tanh, boolean biasInput) {
        String g = dY(ctx);
        String x = ctx.input(0);
        boolean bias = biasInput && !ctx.input(1).isEmpty();
        if (bias) {
            x = ctx.op("Add", x, ctx.input(1));
        }
        String dx;
        if (ctx.isFloat32(ctx.input(0))) {
            dx = ctx.msOp(tanh ? "FastGeluGrad" : "GeluGrad", g, x);
        } else if (tanh) {
            // 0.5 (1 + t + x (1 - t^2) c (1 + 3 k x^2)), t = tanh(c (x + k x^3)), c = sqrt(2/pi), k = 0.044715
            double c = Math.sqrt(2 / Math.PI);
            double k = 0.044715;
            String x2 = ctx.op("Mul", x, x);
            String inner = ctx.op(
                    "Mul",
                    ctx.op("Add", x, ctx.op("Mul", ctx.op("Mul", x2, x), ctx.scalarLike(k, x))),
                    ctx.scalarLike(c, x));
            String t = ctx.op("Tanh", inner);
            String one = ctx.scalarLike(1.0, x);
            String dt = ctx.op(
                    "Mul",
                    ctx.op("Sub", one, ctx.op("Mul", t, t)),
                    ctx.op(
                            "Mul",
                            ctx.scalarLike(c, x),
                            ctx.op("Add", one, ctx.op("Mul", x2, ctx.scalarLike(3 * k, x)))));
            String sum = ctx.op("Add", ctx.op("Add", one, t), ctx.op("Mul", x, dt));
            dx = ctx.op("Mul", g, ctx.op("Mul", sum, ctx.scalarLike(0.5, x)));
        } else {
            // Phi(x) + x phi(x)
            String cdf = ctx.op(
                    "Mul",
                    ctx.op(
                            "Add",
                            ctx.scalarLike(1.0, x),
                            ctx.op("Erf", ctx.op("Mul", x, ctx.scalarLike(1 / Math.sqrt(2), x)))),
                    ctx.scalarLike(0.5, x));
            String pdf = ctx.op(
                    "Mul",
                    ctx.op("Exp", ctx.op("Mul", ctx.op("Mul", x, x), ctx.scalarLike(-0.5, x))),
                    ctx.scalarLike(1 / Math.sqrt(2 * Math.PI), x));
            dx = ctx.op("Mul", g, ctx.op("Add", cdf, ctx.op("Mul", x, pdf)));
        }
        ctx.addInputGradient(0, dx);
        if (bias && ctx.requiresGradient(1)) {
            ctx.addInputGradient(1, ctx.unbroadcast(dx, ctx.input(1), ctx.shape(ctx.output(0))));
        }
    }
}
