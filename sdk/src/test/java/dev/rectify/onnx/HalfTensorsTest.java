package dev.rectify.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.rectify.core.HalfFloats;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import org.junit.jupiter.api.Test;

/** float32 → float16 / bfloat16 rounding used when adapters are merged into a half-precision base. */
class HalfTensorsTest {
    @Test
    void everyFloat16ValueRoundTrips() {
        for (int h = 0; h < 1 << 16; h++) {
            float f = Tensors.halfToFloat((short) h);
            if (Float.isNaN(f)) {
                assertEquals(0x7c00, HalfFloats.floatToHalf(f) & 0x7c00, "NaN stays NaN");
                continue;
            }
            assertEquals((short) h, HalfFloats.floatToHalf(f), "bits " + Integer.toHexString(h));
        }
    }

    @Test
    void roundsToNearestEven() {
        // 1 + 2^-11 lies halfway between 1 and the next float16 (1 + 2^-10): ties go to the even 1
        assertEquals(0x3c00, HalfFloats.floatToHalf(1f + 0x1p-11f));
        assertEquals(0x3c01, HalfFloats.floatToHalf(1f + 0x1p-11f + 0x1p-20f));
        assertEquals(0x7c00, HalfFloats.floatToHalf(1e6f), "overflow is infinity");
        assertEquals((short) 0x3f80, HalfFloats.floatToBfloat16(1f));
        assertEquals((short) 0x3f80, HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x3f808000)), "tie to even");
        assertEquals((short) 0x3f82, HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x3f818000)), "tie to even, up");
        float[] v = {0.1f, -2.5f, 3e-5f};
        float[] back = Tensors.toFloatArray(HalfTensors.tensor("t", v, DataType.BFLOAT16_VALUE, 3));
        for (int i = 0; i < v.length; i++) {
            assertEquals(v[i], back[i], Math.abs(v[i]) / 256);
        }
    }
}
