package dev.rectify.ort;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.HalfFloats;
import dev.rectify.core.InvalidArgumentException;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/** float16/bfloat16 conversions: exact widening, round-to-nearest-even narrowing, and ORT's own tensors read back. */
class HalfFloatsTest {
    @Test
    void everyHalfRoundTripsAndKnownValuesDecode() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = HalfFloats.halfToFloat((short) bits);
            if (Float.isNaN(f)) {
                assertTrue(((bits >> 10) & 0x1f) == 0x1f && (bits & 0x3ff) != 0, Integer.toHexString(bits));
                continue;
            }
            assertEquals((short) bits, HalfFloats.floatToHalf(f), Integer.toHexString(bits));
        }
        assertEquals(1.0f, HalfFloats.halfToFloat((short) 0x3c00));
        assertEquals(-2.0f, HalfFloats.halfToFloat((short) 0xc000));
        assertEquals(65504f, HalfFloats.halfToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, HalfFloats.halfToFloat((short) 0x0001)); // smallest subnormal
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.halfToFloat((short) 0x7c00));
        // ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10
        assertEquals((short) 0x3c00, HalfFloats.floatToHalf(1f + 0x1p-11f));
        assertEquals((short) 0x3c02, HalfFloats.floatToHalf(1f + 3 * 0x1p-11f));
        assertEquals((short) 0x7c00, HalfFloats.floatToHalf(70000f));
    }

    @Test
    void bfloat16KeepsTheTopSixteenBitsRounded() {
        assertEquals(1.0f, HalfFloats.bfloat16ToFloat((short) 0x3f80));
        assertEquals((short) 0x3f80, HalfFloats.floatToBfloat16(1.0f));
        assertEquals((short) 0x3f80, HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x3f808000))); // tie to even
        assertEquals((short) 0x3f82, HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x3f818000)));
        for (int bits = 0; bits < 0x10000; bits += 7) {
            float f = HalfFloats.bfloat16ToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertEquals((short) bits, HalfFloats.floatToBfloat16(f));
            }
        }
    }

    @Test
    void tensorsReadFloat16AndBfloat16AsFloats() {
        float[] values = {0f, 1f, -2.5f, 0.1f, 1000f};
        for (ElementType type : new ElementType[] {ElementType.FLOAT16, ElementType.BFLOAT16}) {
            try (Tensor t = Tensor.zeros(type, 1, values.length)) {
                var b = t.byteView().asShortBuffer();
                for (float v : values) {
                    b.put(type == ElementType.FLOAT16 ? HalfFloats.floatToHalf(v) : HalfFloats.floatToBfloat16(v));
                }
                float[] back = new float[values.length - 1];
                t.readFloats(1, back);
                for (int i = 0; i < back.length; i++) {
                    assertEquals(
                            values[i + 1],
                            back[i],
                            Math.abs(values[i + 1]) * (type == ElementType.FLOAT16 ? 1e-3 : 8e-3),
                            type.name());
                }
            }
        }
        try (Tensor ints = Tensor.ofInts(new int[] {1, 2}, 2)) {
            assertEquals(ElementType.INT32, ints.type());
            assertTrue(Assertions.assertThrows(InvalidArgumentException.class, () -> ints.readFloats(0, new float[2]))
                    .getMessage()
                    .contains("INT32"));
        }
    }
}
