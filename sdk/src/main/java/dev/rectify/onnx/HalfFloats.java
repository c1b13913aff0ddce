package dev.rectify.onnx;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * float32 → float16 / bfloat16 conversion (round to nearest, ties to even; overflow to infinity, NaN kept), for
 * writing weights back into a half-precision model (merged adapters on a float16 base).
 */
public final class HalfFloats {
    private HalfFloats() {
    }

    /** Whether {@code type} is FLOAT16 or BFLOAT16. */
    public static boolean isHalf(int type) {
        return type == DataType.FLOAT16_VALUE || type == DataType.BFLOAT16_VALUE;
    }

    /** A tensor of {@code type} (FLOAT, FLOAT16 or BFLOAT16) holding {@code values} rounded to it. */
    public static TensorProto tensor(String name, float[] values, int type, long... dims) {
        if (type == DataType.FLOAT_VALUE) {
            return Tensors.ofFloats(name, values, dims);
        }
        if (!isHalf(type)) {
            throw new InvalidArgumentException("tensor '" + name + "': cannot store floats as " + Tensors.dtypeName(type));
        }
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(type == DataType.FLOAT16_VALUE ? toFloat16(v) : toBfloat16(v));
        }
        return Tensors.ofRaw(name, DataType.forNumber(type), b.array(), dims);
    }

    /** IEEE 754 binary16 bits of {@code f}, rounded to nearest even. */
    public static short toFloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            mant |= 0x800000;
            int shift = 14 - e;
            int half = mant >> shift;
            int rem = mant & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++; // may carry into the exponent, up to infinity: correct
        }
        return (short) (sign | half);
    }

    /** bfloat16 bits of {@code f}, rounded to nearest even. */
    public static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
