package dev.rectify.autodiff;

import static dev.rectify.autodiff.MovementShapes.REDUCE;
import static dev.rectify.autodiff.OpSpec.Inputs.only;

import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.Optional;

/**
 * ReduceSum, ReduceMean and ReduceSumSquare with axes as attribute (ReduceSum before 13, the others before 18)
 * or as input, keepdims 0/1 and noop_with_empty_axes: dX = Expand(keepdims ? dY : Unsqueeze(dY, axes), Shape(X)),
 * scaled by 1/count for ReduceMean (count from static dims, else Size(Y)/Size(X) at run time) and by 2X for
 * ReduceSumSquare.
 */
final class ReductionRules {
    private ReductionRules() {}

    static void register(OpRegistry.Builder m) {
        m.add(OpSpec.of("ReduceSum").shape(REDUCE).inputs(only(0)).gradient(ctx -> reduce(ctx, false, false)));
        m.add(OpSpec.of("ReduceMean").shape(REDUCE).inputs(only(0)).gradient(ctx -> reduce(ctx, true, false)));
        m.add(OpSpec.of("ReduceSumSquare").shape(REDUCE).inputs(only(0)).gradient(ctx -> reduce(ctx, false, true)));
    }

    private static void reduce(GradientContext ctx, boolean mean, boolean square) {
        String x = ctx.input(0);
        String g = ctx.outputGradient(0);
        boolean keep = ctx.attrInt("keepdims", 1) != 0;
        boolean noop = ctx.attrInt("noop_with_empty_axes", 0) != 0;
        long[] constAxes = null;
        String axesTensor = null;
        if (ctx.node().hasAttribute("axes")) {
            constAxes = ctx.attrInts("axes", new long[0]);
        } else if (!ctx.input(1).isEmpty()) {
            Optional<TensorProto> c = ctx.constant(ctx.input(1));
            if (c.isPresent()) {
                constAxes = Tensors.toLongArray(c.get());
            } else {
                axesTensor = ctx.input(1);
            }
        } else {
            constAxes = new long[0];
        }
        if (constAxes != null && constAxes.length == 0 && noop) {
            // Y = X
            ctx.addInputGradient(0, square ? ctx.op("Mul", g, ctx.op("Mul", x, ctx.scalarLike(2.0, x))) : g);
            return;
        }
        boolean all = constAxes != null && constAxes.length == 0;
        if (mean) {
            g = ctx.op("Mul", g, scale(ctx, x, constAxes, all));
        }
        if (!keep && !all) {
            g = constAxes != null ? ctx.unsqueeze(g, constAxes) : ctx.op("Unsqueeze", g, axesTensor);
        }
        String d = ctx.op("Expand", g, ctx.shapeOf(x));
        if (square) {
            d = ctx.op("Mul", d, ctx.op("Mul", x, ctx.scalarLike(2.0, x)));
        }
        ctx.addInputGradient(0, d);
    }

    /** 1/count of the reduced elements, as a scalar of X's type. */
    private static String scale(GradientContext ctx, String x, long[] axes, boolean all) {
        Shape s = ctx.shape(x).orElse(null);
        if (s != null && axes != null) {
            long count = 1;
            boolean known = true;
            boolean[] red = new boolean[s.rank()];
            for (long a : axes) {
                red[s.axis(a)] = true;
            }
            for (int i = 0; i < s.rank(); i++) {
                if (all || red[i]) {
                    Optional<Long> d = s.dim(i).value();
                    if (d.isPresent()) {
                        count *= d.get();
                    } else {
                        known = false;
                    }
                }
            }
            if (known && count > 0) {
                return ctx.scalarLike(1.0 / count, x);
            }
        }
        String sy = cast(ctx, ctx.op("Size", ctx.output(0)), x);
        String sx = cast(ctx, ctx.op("Size", x), x);
        return ctx.op("Div", sy, sx);
    }

    private static String cast(GradientContext ctx, String t, String like) {
        int type = ctx.elemType(like);
        if (type == 0) {
            return ctx.op("CastLike", t, like);
        }
        String c = ctx.op("Cast", t);
        ctx.last().attr("to", (long) type);
        return c;
    }
}
