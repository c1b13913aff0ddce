package dev.rectify.autodiff;

import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Type and shape inference of data-movement, reduction and shape ops (Transpose, Reshape, Slice, Split, Gather,
 * ReduceSum, Shape...), for {@link OpSpec}s. Element types follow the data input; dims taken from constant inputs
 * (shapes, axes, starts), or from what {@link DimValues} knows of inputs computed from shapes, else left unknown.
 */
public final class MovementShapes {
    private MovementShapes() {}

    public static final ShapeFunction TRANSPOSE = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        ctx.inputShape(0).ifPresent(sx -> {
            long[] perm = ctx.attrInts("perm", null);
            if (perm != null && perm.length != sx.rank()) {
                throw ctx.fail(
                        0,
                        "perm " + Arrays.toString(perm) + " has " + perm.length + " entries for a rank-" + sx.rank()
                                + " input");
            }
            List<Dim> out = new ArrayList<>();
            for (int i = 0; i < sx.rank(); i++) {
                out.add(sx.dim(perm == null ? sx.rank() - 1 - i : sx.axis(perm[i])));
            }
            ctx.setShape(0, new Shape(out));
        });
    };

    public static final ShapeFunction RESHAPE = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        Optional<List<DimValues.Element>> target = ctx.values(1);
        if (target.isPresent()) {
            ctx.setShape(
                    0,
                    DimValues.reshape(ctx.inputShape(0).orElse(null), target.get(), ctx.attrInt("allowzero", 0) != 0));
        } else {
            // a computed target of known length still fixes the rank
            ctx.inputShape(1)
                    .flatMap(s -> s.rank() == 1 ? s.dim(0).value() : Optional.empty())
                    .ifPresent(r -> ctx.setShape(0, Shape.unknownDims(Math.toIntExact(r))));
        }
        ctx.values(0).ifPresent(v -> ctx.setValues(0, v));
    };

    public static final ShapeFunction FLATTEN = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        ctx.inputShape(0).ifPresent(sx -> {
            Optional<long[]> st = sx.sizes();
            if (st.isEmpty()) {
                ctx.setShape(0, Shape.unknownDims(2));
                return;
            }
            long axis = ctx.attrInt("axis", 1);
            int a = (int) (axis < 0 ? axis + sx.rank() : axis);
            if (a < 0 || a > sx.rank()) {
                throw ctx.fail(0, "axis " + axis + " is out of range");
            }
            long outer = 1;
            long inner = 1;
            for (int i = 0; i < sx.rank(); i++) {
                if (i < a) {
                    outer *= st.get()[i];
                } else {
                    inner *= st.get()[i];
                }
            }
            ctx.setShape(0, Shape.of(outer, inner));
        });
    };

    public static final ShapeFunction SQUEEZE = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        ctx.values(0).ifPresent(v -> ctx.setValues(0, v));
        Optional<long[]> axes = axes(ctx);
        ctx.inputShape(0).ifPresent(sx -> {
            if (axes.isPresent()) {
                boolean[] drop = new boolean[sx.rank()];
                for (long a : axes.get()) {
                    drop[sx.axis(a)] = true;
                }
                List<Dim> l = new ArrayList<>();
                for (int i = 0; i < sx.rank(); i++) {
                    if (!drop[i]) {
                        l.add(sx.dim(i));
                    }
                }
                ctx.setShape(0, new Shape(l));
            } else if (ctx.input(1).isEmpty() && !ctx.hasAttribute("axes")) {
                // every dim of size 1 goes: decidable only when all dims are known
                sx.sizes()
                        .ifPresent(d -> ctx.setShape(
                                0, Shape.of(Arrays.stream(d).filter(v -> v != 1).toArray())));
            }
        });
    };

    public static final ShapeFunction UNSQUEEZE = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        ctx.values(0).ifPresent(v -> ctx.setValues(0, v));
        Optional<long[]> axes = axes(ctx);
        Optional<Shape> in = ctx.inputShape(0);
        if (axes.isEmpty() || in.isEmpty()) {
            return;
        }
        Shape sx = in.get();
        Shape r = Shape.unknownDims(sx.rank() + axes.get().length);
        boolean[] ins = new boolean[r.rank()];
        for (long a : axes.get()) {
            ins[r.axis(a)] = true;
        }
        List<Dim> out = new ArrayList<>();
        for (int i = 0, j = 0; i < r.rank(); i++) {
            out.add(ins[i] ? Dim.of(1) : sx.dim(j++));
        }
        ctx.setShape(0, new Shape(out));
    };

    /** ReduceSum, ReduceMean, ReduceMax... with axes as attribute or input, keepdims, noop_with_empty_axes. */
    public static final ShapeFunction REDUCE = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        Optional<long[]> axes = axes(ctx);
        boolean keep = ctx.attrInt("keepdims", 1) != 0;
        boolean noop = ctx.attrInt("noop_with_empty_axes", 0) != 0;
        boolean absent = ctx.input(1).isEmpty() && !ctx.hasAttribute("axes");
        Optional<Shape> in = ctx.inputShape(0);
        if (in.isEmpty() || axes.isEmpty() && !absent) {
            return;
        }
        Shape sx = in.get();
        if (absent || axes.get().length == 0) {
            ctx.setShape(0, noop ? sx : keep ? Shape.of(ones(sx.rank())) : Shape.scalar());
            return;
        }
        boolean[] red = new boolean[sx.rank()];
        for (long a : axes.get()) {
            red[sx.axis(a)] = true;
        }
        List<Dim> l = new ArrayList<>();
        for (int i = 0; i < sx.rank(); i++) {
            if (!red[i]) {
                l.add(sx.dim(i));
            } else if (keep) {
                l.add(Dim.of(1));
            }
        }
        ctx.setShape(0, new Shape(l));
    };

    public static final ShapeFunction CONCAT = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        List<DimValues.Element> joined = new ArrayList<>();
        for (int k = 0; k < ctx.inputCount() && joined != null; k++) {
            Optional<List<DimValues.Element>> v = ctx.values(k);
            if (v.isPresent()) {
                joined.addAll(v.get());
            } else {
                joined = null;
            }
        }
        if (joined != null) {
            ctx.setValues(0, joined);
        }
        Optional<Shape> first = ctx.inputShape(0);
        if (first.isEmpty()) {
            return;
        }
        int a = first.get().axis(ctx.attrInt("axis", 0));
        List<Dim> out = new ArrayList<>(first.get().dims());
        long total = 0;
        boolean known = true;
        for (int k = 0; k < ctx.inputCount(); k++) {
            Optional<Shape> si = ctx.inputShape(k);
            if (si.isEmpty()) {
                known = false;
                continue;
            }
            if (si.get().rank() != out.size()) {
                // ONNX requires equal ranks, but exporters write value_info that ONNX Runtime ignores and that can
                // be wrong (a 1-D constant declared a scalar): the size along the axis is then unknown, not an error
                known = false;
                continue;
            }
            for (int i = 0; i < out.size(); i++) {
                if (out.get(i) instanceof Dim.Unknown && i != a) {
                    out.set(i, si.get().dim(i));
                }
            }
            Optional<Long> d = si.get().dim(a).value();
            if (d.isPresent()) {
                total += d.get();
            } else {
                known = false;
            }
        }
        out.set(a, known ? Dim.of(total) : Dim.unknown());
        ctx.setShape(0, new Shape(out));
    };

    public static final ShapeFunction GATHER = ctx -> {
        ctx.setType(0, ctx.inputType(0));
        Optional<List<DimValues.Element>> from = ctx.values(0);
        Optional<long[]> picks = ctx.constantInts(1);
        if (from.isPresent() && picks.isPresent() && ctx.attrInt("axis", 0) == 0) {
            List<DimValues.Element> v = from.get();
            List<DimValues.Element> out = new ArrayList<>();
            for (long p : picks.get()) {
                long j = p < 0 ? p + v.size() : p;
                if (j < 0 || j >= v.size()) {
                    out = null;
                    break;
                }
                out.add(v.get((int) j));
            }
            if (out != null) {
                ctx.setValues(0, out);
            }
        }
        Optional<Shape> data = ctx.inputShape(0);
        Optional<Shape> idx = ctx.inputShape(1);
        if (data.isPresent() && idx.isPresent()) {
            Shape sx = data.get();
            if (sx.rank() == 0) {
                throw ctx.fail(0, "Gather needs data of rank 1 or more");
            }
            int a = sx.axis(ctx.attrInt("axis", 0));
            ctx.setShape(0, sx.sub(0, a).concat(idx.get()).concat(sx.sub(a + 1, sx.rank())));
        }
    };

    public static final ShapeFunction GATHER_ELEMENTS = ctx -> ctx.setOutput(0, ctx.inputType(0), ctx.inputShape(1));

    public static final ShapeFunction EXPAND = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        Optional<List<DimValues.Element>> target = ctx.values(1);
        Optional<Shape> sx = ctx.inputShape(0);
        if (target.isPresent() && sx.isPresent()) {
            ctx.setShape(0, Shape.broadcast(List.of(sx.get(), new Shape(DimValues.toDims(target.get())))));
        } else if (sx.isPresent()) {
            ctx.inputShape(1)
                    .flatMap(s -> s.rank() == 1 ? s.dim(0).value() : Optional.empty())
                    .ifPresent(r ->
                            ctx.setShape(0, Shape.unknownDims(Math.max(sx.get().rank(), Math.toIntExact(r)))));
        }
    };

    public static final ShapeFunction SHAPE = ctx -> {
        ctx.setType(0, DataType.INT64_VALUE);
        ctx.inputShape(0).ifPresent(sx -> {
            int r = sx.rank();
            int start = clampAxis(ctx.attrInt("start", 0), r);
            int end = clampAxis(ctx.attrInt("end", r), r);
            List<Dim> dims = sx.dims().subList(start, Math.max(start, end));
            ctx.setShape(0, Shape.of(dims.size()));
            ctx.setValues(0, DimValues.ofDims(dims));
        });
    };

    /** Shape's start/end: negative counts from the end, then clamped to [0, rank]. */
    private static int clampAxis(long a, int rank) {
        long v = a < 0 ? a + rank : a;
        return (int) Math.max(0, Math.min(rank, v));
    }

    public static final ShapeFunction SIZE = ctx -> ctx.setOutput(0, DataType.INT64_VALUE, Optional.of(Shape.scalar()));

    public static final ShapeFunction RANGE =
            ctx -> ctx.setOutput(0, ctx.inputType(0), Optional.of(Shape.unknownDims(1)));

    public static final ShapeFunction NON_ZERO = ctx -> ctx.setOutput(
            0, DataType.INT64_VALUE, ctx.inputShape(0).map(sx -> Shape.of(Dim.of(sx.rank()), Dim.unknown())));

    public static final ShapeFunction ARG_MAX = ctx -> {
        ctx.setType(0, DataType.INT64_VALUE);
        ctx.inputShape(0).ifPresent(sx -> {
            int a = sx.axis(ctx.attrInt("axis", 0));
            if (ctx.attrInt("keepdims", 1) != 0) {
                ctx.setShape(0, sx.with(a, Dim.of(1)));
            } else {
                ctx.setShape(0, sx.sub(0, a).concat(sx.sub(a + 1, sx.rank())));
            }
        });
    };

    /** TopK: values of the data's type, INT64 indices; shapes not inferred. */
    public static final ShapeFunction TOP_K = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        ctx.setType(1, DataType.INT64_VALUE);
    };

    public static final ShapeFunction SLICE = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        ctx.inputShape(0).ifPresent(sx -> ctx.setShape(0, slice(ctx, sx)));
        sliceValues(ctx);
    };

    /** A 1-D value sliced along axis 0 with step 1, as {@code Shape(x)[1:3]} is. */
    private static void sliceValues(InferenceContext ctx) {
        Optional<List<DimValues.Element>> v = ctx.values(0);
        Optional<long[]> starts = ctx.constantInts(1);
        Optional<long[]> ends = ctx.constantInts(2);
        boolean axis0 = ctx.input(3).isEmpty()
                || ctx.constantInts(3)
                        .map(a -> a.length == 1 && (a[0] == 0 || a[0] == -1))
                        .orElse(false);
        boolean step1 = ctx.input(4).isEmpty()
                || ctx.constantInts(4).map(st -> st.length == 1 && st[0] == 1).orElse(false);
        if (v.isEmpty()
                || starts.isEmpty()
                || ends.isEmpty()
                || starts.get().length != 1
                || ends.get().length != 1
                || !axis0
                || !step1) {
            return;
        }
        int n = v.get().size();
        long s = starts.get()[0] < 0 ? starts.get()[0] + n : starts.get()[0];
        long e = ends.get()[0] < 0 ? ends.get()[0] + n : ends.get()[0];
        int from = (int) Math.max(0, Math.min(n, s));
        int to = (int) Math.max(0, Math.min(n, e));
        ctx.setValues(0, v.get().subList(from, Math.max(from, to)));
    }

    /** Split by attribute or input sizes, or evenly (num_outputs or no sizes). */
    public static final ShapeFunction SPLIT = ctx -> {
        int type = ctx.firstKnownInputType();
        for (int i = 0; i < ctx.outputCount(); i++) {
            ctx.setType(i, type);
        }
        Optional<Shape> in = ctx.inputShape(0);
        if (in.isEmpty()) {
            return;
        }
        Shape sx = in.get();
        int a = sx.axis(ctx.attrInt("axis", 0));
        boolean fromAttribute = ctx.hasAttribute("split");
        long[] sizes = fromAttribute
                ? ctx.attrInts("split", null)
                : ctx.constantInts(1).orElse(null);
        int k = ctx.outputCount();
        if (sizes != null && sizes.length != k) {
            throw ctx.fail(fromAttribute ? 0 : 1, "split lists " + sizes.length + " sizes for " + k + " outputs");
        }
        for (int i = 0; i < k; i++) {
            Dim d;
            Optional<Long> whole = sx.dim(a).value();
            if (sizes != null) {
                d = Dim.of(sizes[i]);
            } else if (whole.isPresent() && ctx.input(1).isEmpty() && whole.get() % k == 0) {
                d = Dim.of(whole.get() / k);
            } else {
                d = Dim.unknown();
            }
            ctx.setShape(i, sx.with(a, d));
        }
    };

    private static long[] ones(int n) {
        long[] o = new long[n];
        Arrays.fill(o, 1L);
        return o;
    }

    /** Axes as an attribute, else as constant input 1. */
    private static Optional<long[]> axes(InferenceContext ctx) {
        if (ctx.hasAttribute("axes")) {
            return Optional.of(ctx.attrInts("axes", new long[0]));
        }
        return ctx.constantInts(1);
    }

    /**
     * A slice of a dim whose size is not a number: all of it ([0:end of range]) keeps the dim; the last element
     * ([-1:end of range]) is one element (a dim that is sliced exists, so it is at least 1); else unknown.
     */
    private static Dim unknownSizeSlice(Dim d, long start, long end, long step) {
        boolean toEnd = end >= Integer.MAX_VALUE;
        if (step == 1 && toEnd && start == 0) {
            return d;
        }
        if (step == 1 && toEnd && start == -1) {
            return Dim.of(1);
        }
        return Dim.unknown();
    }

    private static Shape slice(InferenceContext ctx, Shape sx) {
        Optional<long[]> starts = ctx.constantInts(1);
        Optional<long[]> ends = ctx.constantInts(2);
        Optional<long[]> axes = ctx.constantInts(3);
        Optional<long[]> steps = ctx.constantInts(4);
        if (starts.isEmpty()
                || ends.isEmpty()
                || (!ctx.input(3).isEmpty() && axes.isEmpty())
                || (!ctx.input(4).isEmpty() && steps.isEmpty())) {
            // the rank is kept; which dims are sliced is not known
            return Shape.unknownDims(sx.rank());
        }
        long[] st = starts.get();
        long[] en = ends.get();
        if (en.length != st.length
                || axes.isPresent() && axes.get().length != st.length
                || steps.isPresent() && steps.get().length != st.length) {
            throw ctx.fail(2, "starts, ends, axes and steps must have the same length (starts has " + st.length + ")");
        }
        List<Dim> out = new ArrayList<>(sx.dims());
        for (int i = 0; i < st.length; i++) {
            int ax = sx.axis(axes.isPresent() ? axes.get()[i] : i);
            long step = steps.isPresent() ? steps.get()[i] : 1;
            if (step == 0) {
                throw ctx.fail(4, "a slice step cannot be 0");
            }
            Optional<Long> size = sx.dim(ax).value();
            if (size.isEmpty()) {
                out.set(ax, unknownSizeSlice(sx.dim(ax), st[i], en[i], step));
                continue;
            }
            long dim = size.get();
            long s = st[i] < 0 ? st[i] + dim : st[i];
            long e = en[i] < 0 ? en[i] + dim : en[i];
            long count;
            if (step > 0) {
                s = Math.max(0, Math.min(s, dim));
                e = Math.max(0, Math.min(e, dim));
                count = e > s ? (e - s + step - 1) / step : 0;
            } else {
                s = Math.max(-1, Math.min(s, dim - 1));
                e = Math.max(-1, Math.min(e, dim - 1));
                count = s > e ? (s - e + (-step) - 1) / (-step) : 0;
            }
            out.set(ax, Dim.of(count));
        }
        return new Shape(out);
    }
}
