package dev.rectify.onnx;

import dev.rectify.core.HalfFloats;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * float32 → float16 / bfloat16 conversion (round to nearest, ties to even; overflow to infinity, NaN kept), for
 * writing weights back into a half-precision model (merged adapters on a float16 base).
 */
public final class HalfTensors {
    private HalfTensors() {}

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
            throw new InvalidArgumentException(
                    "tensor '" + name + "': cannot store floats as " + Tensors.dtypeName(type));
        }
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putShort(type == DataType.FLOAT16_VALUE ? HalfFloats.floatToHalf(v) : HalfFloats.floatToBfloat16(v));
        }
        return Tensors.ofRaw(name, DataType.forNumber(type), b.array(), dims);
    }
}
