package dev.rectify.autodiff;

import dev.rectify.onnx.BlockQuantized;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Optional;

/**
 * com.microsoft.MatMulNBits, Y = A · Wᵀ (+ bias) with W [N, K] a frozen 4-bit block-quantized weight: only A gets
 * a gradient, dA = dY · W, W dequantized in the backward graph exactly as the spec defines it,
 * {@code W[n, k] = (q[n, k] − zp[n, k/bs]) · scale[n, k/bs]} (q unpacked from B's bytes, low nibble first).
 * B, scales, zero points and bias are constants: never differentiated (QLoRA trains adapters beside them).
 * <p>The dequantization is made to depend on dY (B goes through a Where whose condition is computed from dY), so
 * ONNX Runtime cannot constant-fold it into float32 copies of every weight at session start: each W exists only
 * while its layer's backward runs, and the base stays 4-bit in memory.
 */
final class QuantizedRules {
    private QuantizedRules() {}

    static void register(OpRegistry.Builder m) {
        m.add(OpSpec.of(OnnxModel.MICROSOFT, BlockQuantized.MATMUL_NBITS)
                .inputs(OpSpec.Inputs.only(0))
                .shape(QuantizedRules::matMulNBitsShape)
                .gradient(QuantizedRules::matMulNBits));
        m.add(OpSpec.of(OnnxModel.MICROSOFT, BlockQuantized.GATHER_BLOCK_QUANTIZED)
                .shape(QuantizedRules::gatherShape)
                .noGradient());
    }

    /** A [..., K] → Y [..., N], in A's type. */
    private static void matMulNBitsShape(InferenceContext ctx) {
        long n = ctx.attrInt("N", 0);
        ctx.setType(0, ctx.inputType(0));
        ctx.inputShape(0)
                .filter(s -> s.rank() > 0 && n > 0)
                .ifPresent(s -> ctx.setShape(0, s.with(s.rank() - 1, Dim.of(n))));
    }

    /** Rows of packed 4-bit [rows, cols/2] data gathered on axis 0: indices' shape + [cols], in the scales' type. */
    private static void gatherShape(InferenceContext ctx) {
        ctx.setType(0, ctx.inputType(2));
        Optional<Shape> data = ctx.inputShape(0);
        Optional<Shape> indices = ctx.inputShape(1);
        if (data.isEmpty()
                || indices.isEmpty()
                || data.get().rank() != 2
                || ctx.attrInt("gather_axis", 0) != 0
                || !(data.get().dim(1) instanceof Dim.Known cols)) {
            return;
        }
        long width =
                ctx.inputType(0) == DataType.UINT8_VALUE ? cols.size() * (8 / ctx.attrInt("bits", 4)) : cols.size();
        ctx.setShape(0, indices.get().concat(Shape.of(width)));
    }

    private static void matMulNBits(GradientContext ctx) {
        if (!ctx.requiresGradient(0)) {
            return;
        }
        BlockQuantized.MatMulNBits q = BlockQuantized.matMulNBits(ctx.graph(), ctx.node());
        String dy = ctx.outputGradient(0);
        long n = q.n();
        long blocks = q.blocks();
        long bs = q.blockSize();
        // B passed through Where(true computed at run time, B, B): nothing after it can be constant-folded
        String size = ctx.op("Size", dy);
        String always = ctx.op("Not", ctx.op("Less", size, ctx.ints(0))); // Size(dY) is never negative
        String runtimeB = ctx.op("Where", always, q.b(), q.b());
        String bytes = ctx.op("Cast", runtimeB); // [N, blocks, bs/2]
        ctx.last().attr("to", (long) DataType.FLOAT_VALUE);
        String values = unpack(ctx, bytes, ctx.ints(n, blocks, bs)); // [N, blocks, bs]
        String zp;
        if (q.zeroPoints().isEmpty()) {
            zp = f32(ctx, BlockQuantized.DEFAULT_ZERO_POINT);
        } else if (q.packedZeroPoints()) {
            long zb = (blocks + 1) / 2;
            String zbytes = ctx.op("Cast", q.zeroPoints());
            ctx.last().attr("to", (long) DataType.FLOAT_VALUE);
            String z = unpack(ctx, ctx.reshape(zbytes, ctx.ints(n, zb)), ctx.ints(n, zb * 2));
            if (zb * 2 != blocks) {
                z = ctx.op("Slice", z, ctx.ints(0), ctx.ints(blocks), ctx.ints(1));
            }
            zp = ctx.reshape(z, ctx.ints(n, blocks, 1));
        } else {
            zp = ctx.reshape(toFloat(ctx, q.zeroPoints()), ctx.ints(n, blocks, 1));
        }
        String scales = ctx.reshape(toFloat(ctx, q.scales()), ctx.ints(n, blocks, 1));
        String w = ctx.op("Mul", ctx.op("Sub", values, zp), scales); // [N, blocks, bs]
        w = ctx.reshape(w, ctx.ints(n, blocks * bs));
        if (blocks * bs != q.k()) {
            w = ctx.op("Slice", w, ctx.ints(0), ctx.ints(q.k()), ctx.ints(1));
        }
        String da = ctx.op("MatMul", dy, w); // [..., N] · [N, K] = [..., K]
        int aType = ctx.elemType(q.a());
        if (aType != 0 && aType != DataType.FLOAT_VALUE) {
            da = ctx.op("Cast", da);
            ctx.last().attr("to", (long) aType);
        }
        ctx.addInputGradient(0, da);
    }

    /** Float bytes [..., m] → their 4-bit values [..., 2m] (low nibble first), reshaped to {@code shape}. */
    private static String unpack(GradientContext ctx, String bytes, String shape) {
        String sixteen = f32(ctx, 16);
        String hi = ctx.op("Floor", ctx.op("Div", bytes, sixteen));
        String lo = ctx.op("Sub", bytes, ctx.op("Mul", hi, sixteen));
        String both = ctx.op("Concat", ctx.unsqueeze(lo, -1), ctx.unsqueeze(hi, -1));
        ctx.last().attr("axis", -1L);
        return ctx.reshape(both, shape);
    }

    private static String f32(GradientContext ctx, double value) {
        return ctx.emitter().scalar(value, DataType.FLOAT_VALUE, null);
    }

    private static String toFloat(GradientContext ctx, String t) {
        int type = ctx.elemType(t);
        if (type == DataType.FLOAT_VALUE) {
            return t;
        }
        String out = ctx.op("Cast", t);
        ctx.last().attr("to", (long) DataType.FLOAT_VALUE);
        return out;
    }
}
