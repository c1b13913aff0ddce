package dev.rectify.lora;

import com.google.flatbuffers.FlatBufferBuilder;
import com.google.flatbuffers.Table;
import dev.rectify.core.ModelFormatException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ONNX Runtime's LoRA adapter file ({@code .onnx_adapter}): a flatbuffer with file identifier {@code "TORT"} and
 * the schema {@code onnxruntime/lora/adapter_format/adapter_schema.fbs}, written with {@link FlatBufferBuilder}
 * directly (no generated code). Root {@code Adapter{format_version:int (=1), adapter_version:int,
 * model_version:int, parameters:[Parameter]}}; {@code Parameter{name:string, dims:[int64], data_type:int (FLOAT=1),
 * raw_data:[uint8] (force_align 8)}}, data little-endian. Only float32 parameters are written and read.
 */
public final class OnnxAdapterFormat {
    /** The flatbuffer file identifier. */
    public static final String IDENTIFIER = "TORT";
    /** The only format version ORT accepts. */
    public static final int FORMAT_VERSION = 1;
    /** The conventional file extension. */
    public static final String EXTENSION = ".onnx_adapter";

    private static final int FLOAT = 1;

    private OnnxAdapterFormat() {}

    /** A parsed adapter file: versions and float parameters (values and dims) by name, in file order. */
    public record Contents(
            int adapterVersion, int modelVersion, Map<String, float[]> values, Map<String, long[]> dims) {
        public Contents {
            values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
            dims = Collections.unmodifiableMap(new LinkedHashMap<>(dims));
        }
    }

    /** Serializes float32 parameters (in map order); {@code dims} must give each parameter's shape. */
    public static byte[] write(
            Map<String, float[]> values, Map<String, long[]> dims, int adapterVersion, int modelVersion) {
        long total = 0;
        for (float[] v : values.values()) {
            total += 4L * v.length + 64;
        }
        FlatBufferBuilder fb = new FlatBufferBuilder((int) Math.min(Integer.MAX_VALUE - 64, total + 1024));
        int[] params = new int[values.size()];
        int i = 0;
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            long[] shape = dims.get(e.getKey());
            if (shape == null || numel(shape) != e.getValue().length) {
                throw new IllegalArgumentException("shape of " + e.getKey() + " does not match its "
                        + e.getValue().length + " values: " + Arrays.toString(shape));
            }
            int name = fb.createString(e.getKey());
            fb.startVector(8, shape.length, 8);
            for (int d = shape.length - 1; d >= 0; d--) {
                fb.addLong(shape[d]);
            }
            int dimsOff = fb.endVector();
            ByteBuffer raw = fb.createUnintializedVector(1, 4 * e.getValue().length, 8);
            raw.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(e.getValue());
            int rawOff = fb.endVector();
            fb.startTable(4);
            fb.addOffset(3, rawOff, 0);
            fb.addInt(2, FLOAT, 0);
            fb.addOffset(1, dimsOff, 0);
            fb.addOffset(0, name, 0);
            params[i++] = fb.endTable();
        }
        int paramsVec = fb.createVectorOfTables(params);
        fb.startTable(4);
        fb.addOffset(3, paramsVec, 0);
        fb.addInt(2, modelVersion, 0);
        fb.addInt(1, adapterVersion, 0);
        fb.addInt(0, FORMAT_VERSION, 0);
        fb.finish(fb.endTable(), IDENTIFIER);
        return fb.sizedByteArray();
    }

    /** Parses and checks an adapter file; throws {@link ModelFormatException} naming {@code what} if malformed. */
    public static Contents read(byte[] data, String what) {
        try {
            ByteBuffer bb = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            if (data.length < 8 || !Node.hasIdentifier(bb)) {
                throw new ModelFormatException(what + ": not an ONNX Runtime adapter (no \"TORT\" file identifier)");
            }
            Node root = new Node().at(bb.getInt(0), bb);
            int version = root.intField(0, 0);
            if (version != FORMAT_VERSION) {
                throw new ModelFormatException(
                        what + ": adapter format_version " + version + ", only " + FORMAT_VERSION + " is supported");
            }
            Map<String, float[]> values = new LinkedHashMap<>();
            Map<String, long[]> dims = new LinkedHashMap<>();
            int n = root.vectorLength(3);
            for (int i = 0; i < n; i++) {
                Node p = root.tableAt(3, i);
                String name = p.string(0);
                if (name == null || values.containsKey(name)) {
                    throw new ModelFormatException(what + ": parameter " + i + " has no name or a duplicate name");
                }
                long[] shape = p.longs(1);
                int type = p.intField(2, 0);
                if (type != FLOAT) {
                    throw new ModelFormatException(
                            what + ": parameter " + name + " has data type " + type + "; only FLOAT (1) is supported");
                }
                ByteBuffer raw = p.bytes(3);
                long expected = 4 * numel(shape);
                if (raw == null || raw.remaining() != expected) {
                    throw new ModelFormatException(
                            what + ": parameter " + name + " has " + (raw == null ? 0 : raw.remaining())
                                    + " data bytes, its dims " + Arrays.toString(shape) + " need " + expected);
                }
                float[] v = new float[(int) (expected / 4)];
                raw.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
                values.put(name, v);
                dims.put(name, shape);
            }
            return new Contents(root.intField(1, 0), root.intField(2, 0), values, dims);
        } catch (IndexOutOfBoundsException | BufferUnderflowException | IllegalArgumentException e) {
            throw new ModelFormatException(what + ": corrupt or truncated adapter flatbuffer (" + e + ")", e);
        }
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** A flatbuffer table accessed by field slot. */
    private static final class Node extends Table {
        static boolean hasIdentifier(ByteBuffer buf) {
            return __has_identifier(buf, IDENTIFIER);
        }

        Node at(int pos, ByteBuffer buf) {
            __reset(pos, buf);
            return this;
        }

        private int slot(int field) {
            return __offset(4 + 2 * field);
        }

        int intField(int field, int def) {
            int o = slot(field);
            return o == 0 ? def : bb.getInt(bb_pos + o);
        }

        String string(int field) {
            int o = slot(field);
            return o == 0 ? null : __string(bb_pos + o);
        }

        int vectorLength(int field) {
            int o = slot(field);
            return o == 0 ? 0 : __vector_len(o);
        }

        long[] longs(int field) {
            int o = slot(field);
            if (o == 0) {
                return new long[0];
            }
            long[] out = new long[__vector_len(o)];
            int start = __vector(o);
            for (int i = 0; i < out.length; i++) {
                out[i] = bb.getLong(start + 8 * i);
            }
            return out;
        }

        ByteBuffer bytes(int field) {
            int o = slot(field);
            if (o == 0) {
                return null;
            }
            int start = __vector(o);
            int len = __vector_len(o);
            if (start < 0 || len < 0 || start + (long) len > bb.limit()) {
                throw new IndexOutOfBoundsException("vector of " + len + " bytes at " + start + " past the end");
            }
            ByteBuffer d = bb.duplicate();
            d.position(start).limit(start + len);
            return d.slice();
        }

        Node tableAt(int field, int i) {
            int o = slot(field);
            int elem = __vector(o) + 4 * i;
            return new Node().at(__indirect(elem), bb);
        }
    }
}
