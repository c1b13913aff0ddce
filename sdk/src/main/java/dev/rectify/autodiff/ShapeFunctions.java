package dev.rectify.autodiff;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * Type and shape inference of element-wise, matrix and normalization ops, for {@link OpSpec}s: what an output's
 * element type and dims are, given the inputs'. Data-movement ops are in {@link MovementShapes}.
 */
public final class ShapeFunctions {
    private ShapeFunctions() {}

    /** Output 0 has input 0's shape and the first known input type (unary ops, Clip, Softmax...). */
    public static final ShapeFunction SAME = ctx -> ctx.setOutput(0, ctx.firstKnownInputType(), ctx.inputShape(0));

    /** Output 0 has input 0's shape and a fixed element type. */
    public static ShapeFunction sameShapeAs(int type) {
        return ctx -> ctx.setOutput(0, type, ctx.inputShape(0));
    }

    /** Output 0 has the first known input type; its shape is not inferred. */
    public static final ShapeFunction TYPE_ONLY = ctx -> ctx.setType(0, ctx.firstKnownInputType());

    /** numpy broadcasting of all inputs; the first known input type. */
    public static final ShapeFunction BROADCAST = ctx -> {
        ctx.setOutput(0, ctx.firstKnownInputType(), broadcastInputs(ctx, 0));
        binaryValues(ctx);
    };

    /** numpy broadcasting of all inputs to a BOOL output (comparisons, logic). */
    public static final ShapeFunction BROADCAST_BOOL = ctx -> {
        ctx.setOutput(0, DataType.BOOL_VALUE, broadcastInputs(ctx, 0));
        binaryValues(ctx);
    };

    /** Where(condition, X, Y): X's (else Y's) type, the broadcast of all three. */
    public static final ShapeFunction WHERE = ctx -> {
        ctx.setOutput(0, ctx.inputType(1) != 0 ? ctx.inputType(1) : ctx.inputType(2), broadcastInputs(ctx, 0));
        Optional<List<DimValues.Element>> c = ctx.values(0);
        Optional<List<DimValues.Element>> x = ctx.values(1);
        Optional<List<DimValues.Element>> y = ctx.values(2);
        if (c.isPresent() && x.isPresent() && y.isPresent()) {
            DimValues.where(c.get(), x.get(), y.get()).ifPresent(v -> ctx.setValues(0, v));
        }
    };

    /** Cast: the values of a shape-like integer tensor survive a cast between integer types. */
    public static final ShapeFunction CAST = ctx -> {
        int to = (int) ctx.attrInt("to", 0);
        ctx.setOutput(0, to, ctx.inputShape(0));
        if (to == DataType.INT64_VALUE || to == DataType.INT32_VALUE) {
            ctx.values(0).ifPresent(v -> ctx.setValues(0, v));
        }
    };

    /** Identity: input 0's type, shape and known values. */
    public static final ShapeFunction IDENTITY = ctx -> {
        SAME.infer(ctx);
        ctx.values(0).ifPresent(v -> ctx.setValues(0, v));
    };

    /** Values of a binary arithmetic or comparison op on two shape-like tensors (see {@link DimValues}). */
    private static void binaryValues(InferenceContext ctx) {
        if (ctx.inputCount() != 2) {
            return;
        }
        Optional<List<DimValues.Element>> a = ctx.values(0);
        Optional<List<DimValues.Element>> b = ctx.values(1);
        if (a.isPresent() && b.isPresent()) {
            DimValues.binary(ctx.node().opType(), a.get(), b.get()).ifPresent(v -> ctx.setValues(0, v));
        }
    }

    public static final ShapeFunction CAST_LIKE = ctx -> ctx.setOutput(0, ctx.inputType(1), ctx.inputShape(0));

    /** Dropout: output 0 like the data, the mask BOOL of the same shape. */
    public static final ShapeFunction DROPOUT = ctx -> {
        SAME.infer(ctx);
        ctx.setOutput(1, DataType.BOOL_VALUE, ctx.inputShape(0));
    };

    /**
     * Layer and RMS normalizations: output 0 like X; the statistics outputs (Mean, InvStdDev) of type
     * {@code stash_type}, X's shape with 1 from {@code axis} on.
     */
    public static final ShapeFunction NORMALIZATION = ctx -> {
        SAME.infer(ctx);
        Optional<Shape> sx = ctx.inputShape(0);
        Optional<Shape> stats = sx.map(s -> {
            int a = s.axis(ctx.attrInt("axis", -1));
            Shape st = s;
            for (int i = a; i < s.rank(); i++) {
                st = st.with(i, Dim.of(1));
            }
            return st;
        });
        for (int i = 1; i < ctx.outputCount(); i++) {
            ctx.setOutput(i, (int) ctx.attrInt("stash_type", DataType.FLOAT_VALUE), stats);
        }
    };

    /** MatMul and com.microsoft FusedMatMul (transA/transB): numpy matmul with broadcast batch dims. */
    public static final ShapeFunction MATMUL =
            ctx -> ctx.setOutput(0, ctx.firstKnownInputType(), matmul(ctx, ctx.inputShape(0), ctx.inputShape(1)));

    public static final ShapeFunction GEMM = ctx -> {
        ctx.setType(0, ctx.firstKnownInputType());
        Optional<Shape> a = ctx.inputShape(0);
        Optional<Shape> b = ctx.inputShape(1);
        if (a.isPresent() && b.isPresent()) {
            if (a.get().rank() != 2 || b.get().rank() != 2) {
                throw ctx.fail(a.get().rank() != 2 ? 0 : 1, "Gemm takes 2-D operands");
            }
            boolean ta = ctx.attrInt("transA", 0) != 0;
            boolean tb = ctx.attrInt("transB", 0) != 0;
            ctx.setShape(0, Shape.of(a.get().dim(ta ? 1 : 0), b.get().dim(tb ? 0 : 1)));
        }
    };

    /** Constant: the value attribute's type and dims. */
    public static final ShapeFunction CONSTANT = ctx -> {
        ctx.setType(0, constantType(ctx));
        ctx.constant(ctx.node().output(0)).ifPresent(t -> ctx.setShape(0, Shape.of(Tensors.dims(t))));
    };

    /** The broadcast of the inputs' shapes; empty when one is unknown. */
    static Optional<Shape> broadcastInputs(InferenceContext ctx, int from) {
        List<Shape> shapes = new ArrayList<>();
        for (int i = from; i < ctx.inputCount(); i++) {
            Optional<Shape> s = ctx.inputShape(i);
            if (s.isEmpty()) {
                return Optional.empty();
            }
            shapes.add(s.get());
        }
        return Optional.of(Shape.broadcast(shapes));
    }

    static Optional<Shape> matmul(InferenceContext ctx, Optional<Shape> sa, Optional<Shape> sb) {
        if (sa.isEmpty() || sb.isEmpty()) {
            return Optional.empty();
        }
        Shape a = sa.get();
        Shape b = sb.get();
        if (a.rank() == 0 || b.rank() == 0) {
            throw ctx.fail(a.rank() == 0 ? 0 : 1, "MatMul operands must have rank 1 or more");
        }
        boolean ta = ctx.attrInt("transA", 0) != 0;
        boolean tb = ctx.attrInt("transB", 0) != 0;
        if (a.rank() == 1 && b.rank() == 1) {
            return Optional.of(Shape.scalar());
        }
        if (a.rank() == 1) {
            return Optional.of(b.sub(0, b.rank() - 2).concat(Shape.of(b.dim(-1))));
        }
        if (b.rank() == 1) {
            return Optional.of(a.sub(0, a.rank() - 1));
        }
        Shape batch = Shape.broadcast(List.of(a.sub(0, a.rank() - 2), b.sub(0, b.rank() - 2)));
        return Optional.of(batch.concat(Shape.of(a.dim(ta ? -1 : -2), b.dim(tb ? -2 : -1))));
    }

    private static int constantType(InferenceContext ctx) {
        for (AttributeProto a : ctx.node().attributes().values()) {
            switch (a.getName()) {
                case "value":
                    return a.getT().getDataType();
                case "value_float", "value_floats":
                    return DataType.FLOAT_VALUE;
                case "value_int", "value_ints":
                    return DataType.INT64_VALUE;
                default:
                    break;
            }
        }
        return 0;
    }

    /** ConstantOfShape: the value attribute's type (FLOAT by default), dims from the constant shape input. */
    public static final ShapeFunction CONSTANT_OF_SHAPE = ctx -> {
        ctx.setType(
                0,
                Attributes.getTensor(ctx.node(), "value")
                        .map(TensorProto::getDataType)
                        .orElse(DataType.FLOAT_VALUE));
        Optional<List<DimValues.Element>> shp = ctx.values(0);
        if (shp.isPresent()) {
            ctx.setShape(0, new Shape(DimValues.toDims(shp.get())));
            // a short integer fill (exporters build shape arithmetic from these) is a value too
            Optional<long[]> n = DimValues.numbers(shp.get());
            Optional<TensorProto> fill = Attributes.getTensor(ctx.node(), "value");
            if (n.isPresent() && fill.isPresent() && n.get().length <= 1) {
                TensorProto f = fill.get();
                boolean integer = f.getDataType() == DataType.INT64_VALUE || f.getDataType() == DataType.INT32_VALUE;
                long count = n.get().length == 0 ? 1 : n.get()[0];
                if (integer && count >= 0 && count <= 16) {
                    long v = Tensors.toLongArray(f)[0];
                    ctx.setValues(0, Collections.nCopies((int) count, DimValues.Element.of(v)));
                }
            }
        } else {
            ctx.inputShape(0)
                    .flatMap(s -> s.rank() == 1 ? s.dim(0).value() : Optional.empty())
                    .ifPresent(r -> ctx.setShape(0, Shape.unknownDims(Math.toIntExact(r))));
        }
    };
}
