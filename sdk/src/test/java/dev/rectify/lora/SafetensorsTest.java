package dev.rectify.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.ModelFormatException;
import dev.rectify.core.io.ContentHash;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors codec streams in blocks: tensors larger than one block survive a round trip exactly. */
class SafetensorsTest {
    @TempDir
    Path dir;

    /** 700,001 floats span three 1 MiB blocks, with a partial last block. */
    private static Map<String, float[]> values() {
        Random r = new Random(7);
        float[] big = new float[700_001];
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) r.nextGaussian();
        }
        Map<String, float[]> v = new LinkedHashMap<>();
        v.put("a.lora_A.weight", new float[] {1f, -2f, 3.5f, Float.MIN_VALUE, -0f, Float.MAX_VALUE});
        v.put("big", big);
        return v;
    }

    private static Map<String, long[]> shapes() {
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put("a.lora_A.weight", new long[] {2, 3});
        s.put("big", new long[] {700_001});
        return s;
    }

    @Test
    void streamedFileEqualsTheInMemoryBytesAndReadsBackExactly() throws IOException {
        Path file = dir.resolve("w.safetensors");
        try (OutputStream out = Files.newOutputStream(file)) {
            Safetensors.write(out, values(), shapes(), Map.of("format", "pt"));
        }
        byte[] inMemory = Safetensors.toBytes(values(), shapes(), Map.of("format", "pt"));
        assertArrayEquals(inMemory, Files.readAllBytes(file));
        assertEquals(ContentHash.of(inMemory), ContentHash.of(file));

        Safetensors.Contents fromFile = Safetensors.read(file);
        Safetensors.Contents fromBytes = Safetensors.parse(inMemory, "bytes");
        for (String name : values().keySet()) {
            assertArrayEquals(values().get(name), fromFile.values().get(name), name);
            assertArrayEquals(values().get(name), fromBytes.values().get(name), name);
            assertArrayEquals(shapes().get(name), fromFile.shapes().get(name), name);
        }
        assertEquals("pt", fromFile.metadata().get("format"));
    }

    @Test
    void halfPrecisionTensorsSpanningBlocksAreWidened() throws IOException {
        int n = 600_000; // 1.2 MB of F16: two blocks
        ByteBuffer data = ByteBuffer.allocate(2 * n * 2).order(ByteOrder.LITTLE_ENDIAN);
        float[] f16 = new float[n];
        float[] bf16 = new float[n];
        for (int i = 0; i < n; i++) {
            short half = (short) (0x3c00 + (i % 1024)); // 1 + k/1024
            data.putShort(half);
            f16[i] = 1f + (i % 1024) / 1024f;
        }
        for (int i = 0; i < n; i++) {
            float v = (i % 257) - 128f; // exact in bfloat16
            data.putShort((short) (Float.floatToIntBits(v) >>> 16));
            bf16[i] = v;
        }
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[" + n + "],\"data_offsets\":[0," + 2L * n + "]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[" + n + "],\"data_offsets\":[" + 2L * n + "," + 4L * n
                + "]}}";
        Path file = dir.resolve("half.safetensors");
        Files.write(file, concat(header, data.array()));
        Safetensors.Contents c = Safetensors.read(file);
        assertArrayEquals(f16, c.values().get("h"));
        assertArrayEquals(bf16, c.values().get("b"));
    }

    @Test
    void aTruncatedFileIsATypedErrorNamingTheTensor() throws IOException {
        byte[] all = Safetensors.toBytes(values(), shapes(), Map.of());
        Path file = dir.resolve("cut.safetensors");
        Files.write(file, Arrays.copyOf(all, all.length - 4));
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Safetensors.read(file));
        assertTrue(e.getMessage().contains("big") && e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    private static byte[] concat(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
        out.writeBytes(len.array());
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }
}
