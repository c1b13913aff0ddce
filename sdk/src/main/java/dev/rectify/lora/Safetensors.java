package dev.rectify.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.ModelFormatException;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping tensor names
 * to {@code dtype}, {@code shape} and {@code data_offsets}, then the raw little-endian data. F32 is written; F32,
 * F16 and BF16 are read (as floats). Files are written and read in blocks through streams and channels, so neither
 * a file nor a tensor has a 2 GiB limit (a tensor is bounded only by Java's array length, 2<sup>31</sup>-1 values).
 */
public final class Safetensors {
    private static final int BLOCK = 1 << 20;

    private Safetensors() {}

    /** Tensors read from a file: values and shapes by name, plus the header's {@code __metadata__}. */
    public record Contents(Map<String, float[]> values, Map<String, long[]> shapes, Map<String, String> metadata) {}

    /** Serializes float32 tensors (in map order) with optional metadata; for small sets, see {@link #write}. */
    public static byte[] toBytes(
            Map<String, float[]> values, Map<String, long[]> shapes, Map<String, String> metadata) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            write(out, values, shapes, metadata);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return out.toByteArray();
    }

    /**
     * Streams float32 tensors (in map order) with optional metadata to {@code out} in 1 MiB blocks; the same tensors
     * give the same bytes in any JVM (metadata keys sorted). {@code out} is not closed.
     */
    public static void write(
            OutputStream out, Map<String, float[]> values, Map<String, long[]> shapes, Map<String, String> metadata)
            throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new TreeMap<>(metadata).forEach(meta::put);
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
            ArrayNode s = t.putArray("shape");
            for (long d : shape) {
                s.add(d);
            }
            ArrayNode off = t.putArray("data_offsets");
            off.add(offset);
            offset += 4L * e.getValue().length;
            off.add(offset);
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int pad = (8 - h.length % 8) % 8; // keep data 8-byte aligned, padding the header with spaces as the spec allows
        ByteBuffer block = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        block.putLong(h.length + pad);
        out.write(block.array(), 0, 8);
        out.write(h);
        for (int i = 0; i < pad; i++) {
            out.write(' ');
        }
        block.clear();
        FloatBuffer floats = block.asFloatBuffer();
        for (float[] v : values.values()) {
            for (int i = 0; i < v.length; ) {
                int n = Math.min(v.length - i, BLOCK / 4);
                floats.clear();
                floats.put(v, i, n);
                out.write(block.array(), 0, 4 * n);
                i += n;
            }
        }
    }

    /** Reads a safetensors file of any size, block by block; errors name the file and the tensor. */
    public static Contents read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return parse(new ChannelSource(ch), file.toString());
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot read: " + e.getMessage(), e);
        }
    }

    /** Parses safetensors bytes; {@code where} names the source in errors. */
    public static Contents parse(byte[] all, String where) {
        try {
            return parse(new ArraySource(all), where);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // reading an array does not fail
        }
    }

    private static Contents parse(Source src, String where) throws IOException {
        long size = src.size();
        if (size < 8) {
            throw new ModelFormatException(where + ": not a safetensors file (too short)");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        src.read(0, lengthBytes);
        long n = lengthBytes.flip().getLong();
        if (n <= 0 || n > size - 8 || n > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(where + ": not a safetensors file (header length " + n + ")");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
        src.read(8, headerBytes);
        JsonNode header;
        try {
            header = new ObjectMapper().readTree(new String(headerBytes.array(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelFormatException(where + ": corrupt safetensors header: " + e.getMessage());
        }
        long dataStart = 8 + n;
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        ByteBuffer block = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
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
            int width = switch (dtype) {
                case "F32" -> 4;
                case "F16", "BF16" -> 2;
                default ->
                    throw new ModelFormatException(
                            where + ": tensor " + e.getKey() + " has unsupported dtype " + dtype);
            };
            long count = numel(shape);
            if (begin < 0 || end - begin != count * width || dataStart + end > size) {
                throw new ModelFormatException(where + ": tensor " + e.getKey() + " has bad data offsets [" + begin
                        + ", " + end + "] for shape " + Arrays.toString(shape) + " (truncated file?)");
            }
            if (count > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(where + ": tensor " + e.getKey() + " has " + count
                        + " values, more than a Java array holds; split it into smaller tensors");
            }
            float[] v = new float[(int) count];
            for (int i = 0; i < v.length; ) {
                int m = Math.min(v.length - i, BLOCK / width);
                block.clear().limit(m * width);
                src.read(dataStart + begin + (long) i * width, block);
                block.flip();
                for (int k = 0; k < m; k++, i++) {
                    v[i] = switch (dtype) {
                        case "F32" -> block.getFloat();
                        case "F16" -> halfToFloat(block.getShort());
                        default -> Float.intBitsToFloat((block.getShort() & 0xffff) << 16);
                    };
                }
            }
            values.put(e.getKey(), v);
            shapes.put(e.getKey(), shape);
        }
        return new Contents(values, shapes, meta);
    }

    /** Where the bytes come from: positional reads that fill {@code dst} to its limit. */
    private interface Source {
        long size() throws IOException;

        void read(long position, ByteBuffer dst) throws IOException;
    }

    private record ArraySource(byte[] all) implements Source {
        @Override
        public long size() {
            return all.length;
        }

        @Override
        public void read(long position, ByteBuffer dst) {
            dst.put(all, (int) position, dst.remaining());
        }
    }

    private record ChannelSource(FileChannel ch) implements Source {
        @Override
        public long size() throws IOException {
            return ch.size();
        }

        @Override
        public void read(long position, ByteBuffer dst) throws IOException {
            for (long p = position; dst.hasRemaining(); ) {
                int got = ch.read(dst, p);
                if (got < 0) {
                    throw new EOFException("safetensors data ends at byte " + p);
                }
                p += got;
            }
        }
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
