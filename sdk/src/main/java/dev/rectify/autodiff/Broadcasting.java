package dev.rectify.autodiff;

import dev.rectify.onnx.OnnxModel;
import java.util.ArrayList;
import java.util.List;

/**
 * Reverse of numpy broadcasting: sums a gradient over the axes along which its target was broadcast.
 *
 * <p>Static form, when the shapes prove which axes to reduce: with r = rank(G) and rx = rank(X), the leading
 * r − rx axes and every aligned axis where X has dim 1 (and G may not) are summed — {@code ReduceSum(keepdims=0)}
 * when only leading axes are reduced, else {@code ReduceSum(keepdims=1)} plus a {@code Squeeze} of the leading
 * axes. An aligned axis needs no reduction when X's dim is a number other than 1, or equals G's dim (same number
 * or same symbolic name). Summing an axis whose X dim is 1 is always correct, even if G's dim turns out to be 1.
 *
 * <p>Dynamic form otherwise: {@code Shape(X)}, {@code Shape(G)}, {@code com.microsoft.BroadcastGradientArgs}
 * giving the axes, {@code ReduceSum(keepdims=1, noop_with_empty_axes=1)} (com.microsoft.ReduceSumTraining before
 * opset 13), {@code Reshape} to {@code Shape(X)}.
 */
public final class Broadcasting {
    private Broadcasting() {}

    /** The axes of a gradient of shape {@code gradShape} to sum for {@code target}, or null when unproven. */
    static long[] staticAxes(Shape gradShape, Shape target) {
        if (gradShape == null || target == null || target.rank() > gradShape.rank()) {
            return null;
        }
        int r = gradShape.rank();
        int lead = r - target.rank();
        List<Long> axes = new ArrayList<>();
        for (int k = 0; k < r; k++) {
            if (k < lead) {
                axes.add((long) k);
                continue;
            }
            Dim xd = target.dim(k - lead);
            Dim gd = gradShape.dim(k);
            if (xd.is(1)) {
                if (!gd.is(1)) {
                    axes.add((long) k);
                }
            } else if (xd instanceof Dim.Known) {
                continue; // X's dim is not 1, so G's equals it
            } else if (xd.provablyEquals(gd)) {
                continue;
            } else {
                return null;
            }
        }
        return axes.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * {@code grad} (shape {@code gradShape}, null if the rank is unknown) summed to the shape of {@code target}
     * ({@code targetShape}, null if the rank is unknown).
     */
    static String reduceTo(GradientContext ctx, String grad, Shape gradShape, String target, Shape targetShape) {
        long[] axes = staticAxes(gradShape, targetShape);
        if (axes != null) {
            int lead = gradShape.rank() - targetShape.rank();
            if (axes.length == 0) {
                return grad;
            }
            boolean onlyLead = axes.length == lead;
            if (onlyLead) {
                return ctx.reduceSum(grad, axes, false);
            }
            String red = ctx.reduceSum(grad, axes, true);
            if (lead > 0) {
                long[] leading = new long[lead];
                for (int i = 0; i < lead; i++) {
                    leading[i] = i;
                }
                red = ctx.squeeze(red, leading);
            }
            return red;
        }
        return dynamic(ctx, grad, target);
    }

    /** The run-time form: BroadcastGradientArgs, ReduceSum(noop_with_empty_axes=1), Reshape to Shape(target). */
    static String dynamic(GradientContext ctx, String grad, String target) {
        String targetShape = ctx.shapeOf(target);
        String gradShape = ctx.op("Shape", grad);
        String axes = ctx.fresh("bcast_axes");
        String unused = ctx.fresh("bcast_axes_unused");
        ctx.emit(OnnxModel.MICROSOFT, "BroadcastGradientArgs", List.of(targetShape, gradShape), List.of(axes, unused));
        String red = ctx.reduceSumDynamic(grad, axes, true);
        return ctx.reshape(red, targetShape);
    }
}
