package dev.rectify.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.rectify.core.ModelFormatException;
import dev.rectify.ort.LoraAdapter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The .onnx_adapter flatbuffer: round trip, ORT accepts it, corrupt files are typed errors. */
class OnnxAdapterFormatTest {
    private static byte[] sample() {
        Map<String, float[]> v = new LinkedHashMap<>();
        Map<String, long[]> d = new LinkedHashMap<>();
        v.put("a", new float[] {1, 2, 3, 4, 5, 6});
        d.put("a", new long[] {2, 3});
        v.put("b.weight", new float[] {-0.5f});
        d.put("b.weight", new long[] {1});
        v.put("empty", new float[0]);
        d.put("empty", new long[] {0, 7});
        return OnnxAdapterFormat.write(v, d, 3, 5);
    }

    @Test
    void roundTripsAndOrtLoadsIt() {
        byte[] bytes = sample();
        assertEquals("TORT", new String(bytes, 4, 4, StandardCharsets.US_ASCII));
        OnnxAdapterFormat.Contents c = OnnxAdapterFormat.read(bytes, "sample");
        assertEquals(3, c.adapterVersion());
        assertEquals(5, c.modelVersion());
        assertEquals(List.of("a", "b.weight", "empty"), List.copyOf(c.values().keySet()));
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.values().get("a"));
        assertArrayEquals(new long[] {2, 3}, c.dims().get("a"));
        assertArrayEquals(new long[] {0, 7}, c.dims().get("empty"));
        try (LoraAdapter a = LoraAdapter.fromBytes(bytes, "sample")) {
            assertEquals(bytes.length, a.byteSize());
        }
    }

    @Test
    void rawDataIsEightByteAligned() {
        byte[] bytes = sample();
        // find the little-endian float 1,2,3 sequence and check its offset
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int at = -1;
        for (int i = 0; i + 12 <= bytes.length; i++) {
            if (b.getFloat(i) == 1f && b.getFloat(i + 4) == 2f && b.getFloat(i + 8) == 3f) {
                at = i;
                break;
            }
        }
        assertEquals(0, at % 8, "raw_data at " + at);
    }

    @Test
    void corruptOrForeignBytesAreTypedErrors() {
        byte[] bytes = sample();
        byte[] noId = bytes.clone();
        noId[4] = 'X';
        assertThrows(ModelFormatException.class, () -> OnnxAdapterFormat.read(noId, "noId"));
        assertThrows(ModelFormatException.class, () -> OnnxAdapterFormat.read(Arrays.copyOf(bytes, 20), "truncated"));
        assertThrows(ModelFormatException.class, () -> OnnxAdapterFormat.read(new byte[3], "tiny"));
        assertThrows(ModelFormatException.class, () -> LoraAdapter.fromBytes(Arrays.copyOf(bytes, 20), "truncated"));
    }
}
