package dev.rectify.onnx;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Finds where each top-level initializer's {@code raw_data} lies inside a serialized ONNX model, by walking the
 * protobuf wire format (ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.name = 8, raw_data = 9)
 * without reading the data itself. {@link LazyWeights} uses the offsets to refer to inline weights in place, so
 * that they are later copied file to file and never enter the Java heap or this process's resident memory.
 */
final class InitializerRegions {
    /** A byte range of the model file. */
    record Region(long offset, long length) {}

    private InitializerRegions() {}

    /** Initializer name → raw_data region; names that occur twice are left out. */
    static Map<String, Region> of(ByteBuffer model) {
        Map<String, Region> out = new HashMap<>();
        Set<String> duplicate = new HashSet<>();
        Cursor c = new Cursor(model, 0, model.limit());
        while (c.more()) {
            long key = c.varint();
            if (key >>> 3 == 7 && (key & 7) == 2) {
                int len = c.length();
                graph(new Cursor(model, c.pos, c.pos + len), out, duplicate);
                c.pos += len;
            } else {
                c.skip((int) (key & 7));
            }
        }
        duplicate.forEach(out::remove);
        return out;
    }

    private static void graph(Cursor c, Map<String, Region> out, Set<String> duplicate) {
        while (c.more()) {
            long key = c.varint();
            if (key >>> 3 == 5 && (key & 7) == 2) {
                int len = c.length();
                tensor(new Cursor(c.buf, c.pos, c.pos + len), out, duplicate);
                c.pos += len;
            } else {
                c.skip((int) (key & 7));
            }
        }
    }

    private static void tensor(Cursor c, Map<String, Region> out, Set<String> duplicate) {
        String name = null;
        Region raw = null;
        while (c.more()) {
            long key = c.varint();
            int field = (int) (key >>> 3);
            if ((field == 8 || field == 9) && (key & 7) == 2) {
                int len = c.length();
                if (field == 8) {
                    byte[] b = new byte[len];
                    c.buf.get(c.pos, b);
                    name = new String(b, StandardCharsets.UTF_8);
                } else {
                    raw = new Region(c.pos, len);
                }
                c.pos += len;
            } else {
                c.skip((int) (key & 7));
            }
        }
        if (name != null && raw != null && out.put(name, raw) != null) {
            duplicate.add(name);
        }
    }

    /** A read position inside [pos, end) of the buffer. */
    private static final class Cursor {
        final ByteBuffer buf;
        int pos;
        final int end;

        Cursor(ByteBuffer buf, int pos, int end) {
            this.buf = buf;
            this.pos = pos;
            this.end = end;
        }

        boolean more() {
            return pos < end;
        }

        long varint() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw new IllegalStateException("truncated varint");
                }
                byte b = buf.get(pos++);
                v |= (long) (b & 0x7f) << shift;
                if (b >= 0) {
                    return v;
                }
            }
            throw new IllegalStateException("malformed varint");
        }

        int length() {
            long n = varint();
            if (n < 0 || n > end - pos) {
                throw new IllegalStateException("length " + n + " runs past the enclosing message");
            }
            return (int) n;
        }

        void skip(int wireType) {
            switch (wireType) {
                case 0 -> varint();
                case 1 -> pos += 8;
                case 2 -> {
                    int n = length(); // read before adding: length() moves pos past the varint
                    pos += n;
                }
                case 5 -> pos += 4;
                default -> throw new IllegalStateException("unsupported wire type " + wireType);
            }
            if (pos > end) {
                throw new IllegalStateException("field runs past the enclosing message");
            }
        }
    }
}
