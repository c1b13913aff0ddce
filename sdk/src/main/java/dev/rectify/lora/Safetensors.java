package dev.rectify.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping tensor names
 * to {@code dtype}, {@code shape} and {@code data_offsets}, then the raw little-endian data. F32 is written; F32,
 * F16 and BF16 are read (as floats).
 */
public final class Safetensors {
    private Safetensors() {}

    /** Tensors read from a file: values and shapes by name, plus the header's {@code __metadata__}. */
    public record Contents(Map<String, float[]> values, Map<String, long[]> shapes, Map<String, String> metadata) {}

    /** Serializes float32 tensors (in map order) with optional metadata. */
    public static byte[] toBytes(
            Map<String, float[]> values, Map<String, long[]> shapes, Map<String, String> metadata) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(meta::put); // sorted: the same tensors give the same bytes in any JVM
        }
        long offset = 0;
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            long[] shape = shapes.get(e.getKey());
            if (shape == null || numel(shape) != e.getValue().length) {
                throw new IllegalArgumentException(
                        "shape of " + e.getKey() + " does not match its " + e.getValue().length + " values");
            }
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            var s = t.putArray("shape");
            for (long d : shape) {
                s.add(d);
            }
            var off = t.putArray("data_offsets");
            off.add(offset);
            offset += 4L * e.getValue().length;
            off.add(offset);
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (8 - h.length % 8) % 8; // keep data 8-byte aligned, padding the header with spaces as the spec allows
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(8 + h.length + pad + offset))
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length + pad);
        buf.put(h);
        for (int i = 0; i < pad; i++) {
            buf.put((byte) ' ');
        }
        for (float[] v : values.values()) {
            for (float f : v) {
                buf.putFloat(f);
            }
        }
        return buf.array();
    }

    /** Parses a safetensors file; errors name the file and the tensor. */
    public static Contents read(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot read: " + e.getMessage(), e);
        }
        return parse(all, file.toString());
    }

    /** Parses safetensors bytes; {@code where} names the source in errors. */
    public static Contents parse(byte[] all, String where) {
        if (all.length < 8) {
            throw new ModelFormatException(where + ": not a safetensors file (too short)");
        }
        ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        long n = buf.getLong();
        if (n <= 0 || n > all.length - 8) {
            throw new ModelFormatException(where + ": not a safetensors file (header length " + n + ")");
        }
        JsonNode header;
        try {
            header = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelFormatException(where + ": corrupt safetensors header: " + e.getMessage());
        }
        int dataStart = 8 + (int) n;
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                e.getValue()
                        .fields()
                        .forEachRemaining(m -> meta.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            JsonNode t = e.getValue();
            String dtype = t.path("dtype").asText();
            long[] shape = new long[t.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.path("shape").get(i).asLong();
            }
            long begin = t.path("data_offsets").path(0).asLong(-1);
            long end = t.path("data_offsets").path(1).asLong(-1);
            int size = switch (dtype) {
                case "F32" -> 4;
                case "F16", "BF16" -> 2;
                default ->
                    throw new ModelFormatException(
                            where + ": tensor " + e.getKey() + " has unsupported dtype " + dtype);
            };
            long count = numel(shape);
            if (begin < 0 || end - begin != count * size || dataStart + end > all.length) {
                throw new ModelFormatException(where + ": tensor " + e.getKey() + " has bad data offsets [" + begin
                        + ", " + end + "] for shape " + Arrays.toString(shape) + " (truncated file?)");
            }
            float[] v = new float[(int) count];
            ByteBuffer d = ByteBuffer.wrap(all, (int) (dataStart + begin), (int) (end - begin))
                    .order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < v.length; i++) {
                v[i] = switch (dtype) {
                    case "F32" -> d.getFloat();
                    case "F16" -> halfToFloat(d.getShort());
                    default -> Float.intBitsToFloat((d.getShort() & 0xffff) << 16);
                };
            }
            values.put(e.getKey(), v);
            shapes.put(e.getKey(), shape);
        }
        return new Contents(values, shapes, meta);
    }

    /** IEEE 754 half precision to float (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant / 1024f * (float) Math.pow(2, -14);
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
