package dev.rectify.autodiff;

import static dev.rectify.autodiff.MovementShapes.CONCAT;
import static dev.rectify.autodiff.MovementShapes.EXPAND;
import static dev.rectify.autodiff.MovementShapes.FLATTEN;
import static dev.rectify.autodiff.MovementShapes.GATHER;
import static dev.rectify.autodiff.MovementShapes.GATHER_ELEMENTS;
import static dev.rectify.autodiff.MovementShapes.RESHAPE;
import static dev.rectify.autodiff.MovementShapes.SLICE;
import static dev.rectify.autodiff.MovementShapes.SPLIT;
import static dev.rectify.autodiff.MovementShapes.SQUEEZE;
import static dev.rectify.autodiff.MovementShapes.TRANSPOSE;
import static dev.rectify.autodiff.MovementShapes.UNSQUEEZE;
import static dev.rectify.autodiff.OpSpec.Inputs.only;

import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.ResolvedInput;
import dev.rectify.onnx.Tensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Data movement: Transpose, Reshape, Flatten, Squeeze, Unsqueeze (axes as attribute or input), Concat, Split
 * (split as attribute or input, num_outputs; unused outputs count as zeros), Slice (com.microsoft.SliceGrad),
 * Gather (com.microsoft.GatherGrad, duplicate and negative indices accumulate), GatherElements
 * (com.microsoft.GatherElementsGrad) and Expand (reduction back to the input's shape).
 */
final class ShapeRules {
    private ShapeRules() {}

    static void register(OpRegistry.Builder m) {
        m.add(OpSpec.of("Transpose").shape(TRANSPOSE).gradient(ShapeRules::transpose));
        m.add(OpSpec.of("Reshape")
                .shape(RESHAPE)
                .inputs(only(0))
                .gradient(ctx -> ctx.addInputGradient(0, ctx.reshapeLike(dY(ctx), ctx.input(0)))));
        m.add(OpSpec.of("Flatten")
                .shape(FLATTEN)
                .gradient(ctx -> ctx.addInputGradient(0, ctx.reshapeLike(dY(ctx), ctx.input(0)))));
        m.add(OpSpec.of("Squeeze").shape(SQUEEZE).inputs(only(0)).gradient(ctx -> squeezeUnsqueeze(ctx, true)));
        m.add(OpSpec.of("Unsqueeze").shape(UNSQUEEZE).inputs(only(0)).gradient(ctx -> squeezeUnsqueeze(ctx, false)));
        m.add(OpSpec.of("Concat").shape(CONCAT).gradient(ShapeRules::concat));
        m.add(OpSpec.of("Split").shape(SPLIT).inputs(only(0)).gradient(ShapeRules::split));
        m.add(OpSpec.of("Slice").shape(SLICE).inputs(only(0)).gradient(ShapeRules::slice));
        m.add(OpSpec.of("Gather").shape(GATHER).inputs(only(0)).gradient(ctx -> {
            String d = ctx.msOp("GatherGrad", ctx.shapeOf(ctx.input(0)), ctx.input(1), dY(ctx));
            ctx.last().attr("axis", ctx.attrInt("axis", 0));
            ctx.addInputGradient(0, d);
        }));
        m.add(OpSpec.of("GatherElements").shape(GATHER_ELEMENTS).inputs(only(0)).gradient(ctx -> {
            String d = ctx.msOp("GatherElementsGrad", dY(ctx), ctx.shapeOf(ctx.input(0)), ctx.input(1));
            ctx.last().attr("axis", ctx.attrInt("axis", 0));
            ctx.addInputGradient(0, d);
        }));
        m.add(OpSpec.of("Expand")
                .shape(EXPAND)
                .inputs(only(0))
                .gradient(ctx -> ctx.addInputGradient(0, ctx.unbroadcastFromOutput(dY(ctx), 0, 0))));
    }

    private static String dY(GradientContext ctx) {
        return ctx.outputGradient(0);
    }

    private static void transpose(GradientContext ctx) {
        long[] perm = ctx.attrInts("perm", null);
        String d = ctx.op("Transpose", dY(ctx));
        if (perm != null) {
            long[] inv = new long[perm.length];
            for (int i = 0; i < perm.length; i++) {
                inv[(int) perm[i]] = i;
            }
            ctx.last().attrInts("perm", inv);
        }
        ctx.addInputGradient(0, d);
    }

    private static void squeezeUnsqueeze(GradientContext ctx, boolean squeeze) {
        String g = dY(ctx);
        String inverse = squeeze ? "Unsqueeze" : "Squeeze";
        if (!ctx.input(1).isEmpty()) {
            ctx.addInputGradient(0, ctx.op(inverse, g, ctx.input(1)));
        } else if (ctx.node().hasAttribute("axes")) {
            long[] axes = ctx.attrInts("axes", new long[0]);
            ctx.addInputGradient(0, squeeze ? ctx.unsqueeze(g, axes) : ctx.squeeze(g, axes));
        } else {
            ctx.addInputGradient(0, ctx.reshapeLike(g, ctx.input(0)));
        }
    }

    private static void concat(GradientContext ctx) {
        long axis = ctx.attrInt("axis", 0);
        int n = ctx.inputCount();
        long[] sizes = new long[n];
        boolean known = true;
        for (int i = 0; i < n; i++) {
            Optional<Long> size =
                    ctx.shape(ctx.input(i)).flatMap(s -> s.dim(s.axis(axis)).value());
            if (size.isEmpty()) {
                known = false;
                break;
            }
            sizes[i] = size.get();
        }
        if (!known && ctx.opset() < 13) {
            throw ctx.unsupported("the input sizes along the axis must be known before opset 13");
        }
        List<String> outs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            outs.add(ctx.fresh(ctx.requiresGradient(i) ? "concat_grad_" + i : "concat_unused_" + i));
        }
        if (known && ctx.opset() < 13) {
            ctx.emit("", "Split", List.of(dY(ctx)), outs).attr("axis", axis).attrInts("split", sizes);
        } else {
            String split;
            if (known) {
                split = ctx.ints(sizes);
            } else {
                String[] parts = new String[n];
                for (int i = 0; i < n; i++) {
                    parts[i] = ctx.op("Gather", ctx.shapeOf(ctx.input(i)), ctx.ints(axis));
                }
                split = ctx.op("Concat", parts);
                ctx.last().attr("axis", 0L);
            }
            ctx.emit("", "Split", List.of(dY(ctx), split), outs).attr("axis", axis);
        }
        for (int i = 0; i < n; i++) {
            ctx.addInputGradient(i, outs.get(i));
        }
    }

    private static void split(GradientContext ctx) {
        long axis = ctx.attrInt("axis", 0);
        int n = ctx.node().outputs().size();
        String[] parts = new String[n];
        for (int i = 0; i < n; i++) {
            String g = ctx.outputGradient(i);
            parts[i] = g != null ? g : ctx.zerosLike(ctx.output(i));
        }
        String d = ctx.op("Concat", parts);
        ctx.last().attr("axis", axis);
        ctx.addInputGradient(0, d);
    }

    private static void slice(GradientContext ctx) {
        String x = ctx.input(0);
        List<String> ins = new ArrayList<>(List.of(dY(ctx), ctx.shapeOf(x)));
        if (ctx.opset() < 10) {
            long[] starts = ctx.attrInts("starts", new long[0]);
            long[] ends = ctx.attrInts("ends", new long[0]);
            ins.add(ctx.ints(starts));
            ins.add(ctx.ints(ends));
            long[] axes = ctx.attrInts("axes", null);
            if (axes != null) {
                ins.add(ctx.ints(axes));
            }
        } else {
            ResolvedInput axes = ctx.params().slice(ctx.node(), "axes");
            ResolvedInput steps = ctx.params().slice(ctx.node(), "steps");
            if (steps.isConstant()
                    && Arrays.stream(steps.longs()).anyMatch(v -> v < 0)
                    && ctx.params().slice(ctx.node(), "starts").isConstant()
                    && ctx.params().slice(ctx.node(), "ends").isConstant()
                    && (axes.isAbsent() || axes.isConstant())
                    && ctx.rank(x) >= 0) {
                ctx.addInputGradient(0, sliceByGather(ctx, axes));
                return;
            }
            ins.add(ctx.input(1));
            ins.add(ctx.input(2));
            if (!axes.isAbsent() || !steps.isAbsent()) {
                ins.add(ctx.input(3));
            }
            if (!steps.isAbsent()) {
                ins.add(ctx.input(4));
            }
        }
        String out = ctx.fresh("slicegrad_out");
        ctx.emit(OnnxModel.MICROSOFT, "SliceGrad", ins, List.of(out));
        ctx.addInputGradient(0, out);
    }

    /**
     * Slice with a negative step, which ORT's CPU SliceGrad rejects (narrowing_error): the slice is a chain of
     * one-axis Gathers of Slice(Range(0, dim)) indices, so dX is a chain of com.microsoft.GatherGrad, the shape of
     * each intermediate taking X's dims on the axes not yet undone and dY's on the others.
     */
    private static String sliceByGather(GradientContext ctx, ResolvedInput axesIn) {
        String x = ctx.input(0);
        int rank = ctx.rank(x);
        long[] starts = ctx.params().slice(ctx.node(), "starts").longs();
        long[] ends = ctx.params().slice(ctx.node(), "ends").longs();
        long[] steps = ctx.params().slice(ctx.node(), "steps").longs();
        long[] axes = new long[starts.length];
        for (int j = 0; j < axes.length; j++) {
            long a = axesIn.isAbsent() ? j : axesIn.longs()[j];
            axes[j] = a < 0 ? a + rank : a;
        }
        String shapeX = ctx.shapeOf(x);
        String shapeG = ctx.op("Shape", dY(ctx));
        String g = dY(ctx);
        for (int j = axes.length - 1; j >= 0; j--) {
            boolean[] fromX = new boolean[rank];
            for (int k = j; k < axes.length; k++) {
                fromX[(int) axes[k]] = true;
            }
            String mask = boolConst(ctx, fromX);
            String shapeZ = ctx.op("Where", mask, shapeX, shapeG);
            String dim = ctx.op("Gather", shapeX, ctx.emitter().intScalar(axes[j]));
            String range = ctx.op(
                    "Range", ctx.emitter().intScalar(0), dim, ctx.emitter().intScalar(1));
            String idx =
                    ctx.op("Slice", range, ctx.ints(starts[j]), ctx.ints(ends[j]), ctx.ints(0), ctx.ints(steps[j]));
            g = ctx.msOp("GatherGrad", shapeZ, idx, g);
            ctx.last().attr("axis", axes[j]);
        }
        return g;
    }

    private static String boolConst(GradientContext ctx, boolean[] values) {
        String out = ctx.fresh("axis_mask");
        ctx.emit("", "Constant", List.of(), List.of(out))
                .attr("value", Tensors.ofBooleans(null, values, values.length));
        return out;
    }
}
