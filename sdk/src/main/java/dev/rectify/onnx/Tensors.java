package dev.rectify.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Building {@link TensorProto}s from Java arrays (raw_data, little-endian) and reading them back whatever
 * their storage (raw_data or the typed repeated fields); data type names and element sizes.
 * <p>Over 400 lines because it holds one conversion per ONNX element type between TensorProto (raw and typed fields)
 * and Java arrays, each a few lines.
 */
public final class Tensors {
    private Tensors() {}

    // ---- building ----

    /** A FLOAT tensor; {@code data.length} must equal the product of {@code dims} (no dims: a scalar). */
    public static TensorProto ofFloats(String name, float[] data, long... dims) {
        checkCount(name, data.length, dims);
        ByteBuffer b = le(data.length * 4L);
        b.asFloatBuffer().put(data);
        return raw(name, DataType.FLOAT, b.array(), dims);
    }

    /** A DOUBLE tensor. */
    public static TensorProto ofDoubles(String name, double[] data, long... dims) {
        checkCount(name, data.length, dims);
        ByteBuffer b = le(data.length * 8L);
        b.asDoubleBuffer().put(data);
        return raw(name, DataType.DOUBLE, b.array(), dims);
    }

    /** An INT64 tensor. */
    public static TensorProto ofLongs(String name, long[] data, long... dims) {
        checkCount(name, data.length, dims);
        ByteBuffer b = le(data.length * 8L);
        b.asLongBuffer().put(data);
        return raw(name, DataType.INT64, b.array(), dims);
    }

    /** An INT32 tensor. */
    public static TensorProto ofInts(String name, int[] data, long... dims) {
        checkCount(name, data.length, dims);
        ByteBuffer b = le(data.length * 4L);
        b.asIntBuffer().put(data);
        return raw(name, DataType.INT32, b.array(), dims);
    }

    /** A BOOL tensor (one byte per element). */
    public static TensorProto ofBooleans(String name, boolean[] data, long... dims) {
        checkCount(name, data.length, dims);
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) {
            bytes[i] = (byte) (data[i] ? 1 : 0);
        }
        return raw(name, DataType.BOOL, bytes, dims);
    }

    /** A rank-0 FLOAT tensor. */
    public static TensorProto scalar(String name, float value) {
        return ofFloats(name, new float[] {value});
    }

    /** A rank-0 INT64 tensor. */
    public static TensorProto scalar(String name, long value) {
        return ofLongs(name, new long[] {value});
    }

    /** A tensor of any type from little-endian bytes (the array is not copied; do not modify it). */
    public static TensorProto ofRaw(String name, DataType type, byte[] littleEndian, long... dims) {
        int bits = elementBits(type.getNumber());
        if (bits <= 0) {
            throw new InvalidArgumentException("tensor '" + name + "': " + type + " cannot be stored as raw data");
        }
        long expected = byteSize(type.getNumber(), numElements(dims));
        if (expected != littleEndian.length) {
            throw new InvalidArgumentException("tensor '" + name + "': dims " + Arrays.toString(dims) + " of " + type
                    + " need " + expected + " bytes, got " + littleEndian.length);
        }
        return raw(name, type, littleEndian, dims);
    }

    private static TensorProto raw(String name, DataType type, byte[] bytes, long[] dims) {
        TensorProto.Builder b = TensorProto.newBuilder()
                .setDataType(type.getNumber())
                .setRawData(UnsafeByteOperations.unsafeWrap(bytes));
        if (name != null && !name.isEmpty()) {
            b.setName(name);
        }
        for (long d : dims) {
            b.addDims(d);
        }
        return b.build();
    }

    private static void checkCount(String name, int count, long[] dims) {
        long n = numElements(dims);
        if (n != count) {
            throw new InvalidArgumentException("tensor '" + name + "': dims " + Arrays.toString(dims) + " hold " + n
                    + " elements but " + count + " values were given");
        }
    }

    private static ByteBuffer le(long bytes) {
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("tensor of " + bytes + " bytes is too large for one Java array");
        }
        return ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    // ---- reading ----

    /** The dims of {@code t}. */
    public static long[] dims(TensorProto t) {
        return t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** The number of elements for {@code dims} (1 for a scalar); negative dims are an error. */
    public static long numElements(long... dims) {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new InvalidArgumentException("negative dimension in " + Arrays.toString(dims));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The number of elements of {@code t} according to its dims. */
    public static long numElements(TensorProto t) {
        return numElements(dims(t));
    }

    /** Values as floats: FLOAT, DOUBLE, FLOAT16, BFLOAT16, and every integer type and BOOL (converted). */
    public static float[] toFloatArray(TensorProto t) {
        int n = count(t);
        int dt = t.getDataType();
        if (t.hasRawData()) {
            ByteBuffer b = rawBuffer(t, n);
            float[] out = new float[n];
            switch (dt) {
                case DataType.FLOAT_VALUE -> b.asFloatBuffer().get(out);
                case DataType.DOUBLE_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8);
                }
                case DataType.FLOAT16_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = halfToFloat(b.getShort(i * 2));
                }
                case DataType.BFLOAT16_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xffff) << 16);
                }
                default -> {
                    long[] l = toLongArray(t);
                    for (int i = 0; i < n; i++) out[i] = l[i];
                }
            }
            return out;
        }
        float[] out = new float[n];
        switch (dt) {
            case DataType.FLOAT_VALUE -> {
                checkTyped(t, t.getFloatDataCount(), n);
                for (int i = 0; i < n; i++) out[i] = t.getFloatData(i);
            }
            case DataType.DOUBLE_VALUE -> {
                checkTyped(t, t.getDoubleDataCount(), n);
                for (int i = 0; i < n; i++) out[i] = (float) t.getDoubleData(i);
            }
            case DataType.FLOAT16_VALUE -> {
                checkTyped(t, t.getInt32DataCount(), n);
                for (int i = 0; i < n; i++) out[i] = halfToFloat((short) t.getInt32Data(i));
            }
            case DataType.BFLOAT16_VALUE -> {
                checkTyped(t, t.getInt32DataCount(), n);
                for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((t.getInt32Data(i) & 0xffff) << 16);
            }
            default -> {
                long[] l = toLongArray(t);
                for (int i = 0; i < n; i++) out[i] = l[i];
            }
        }
        return out;
    }

    /** Values as longs: INT64, INT32, INT16, INT8, UINT64 (bit pattern), UINT32, UINT16, UINT8, BOOL. */
    public static long[] toLongArray(TensorProto t) {
        int n = count(t);
        int dt = t.getDataType();
        long[] out = new long[n];
        if (t.hasRawData()) {
            ByteBuffer b = rawBuffer(t, n);
            switch (dt) {
                case DataType.INT64_VALUE, DataType.UINT64_VALUE ->
                    b.asLongBuffer().get(out);
                case DataType.INT32_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4);
                }
                case DataType.UINT32_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = b.getInt(i * 4) & 0xffffffffL;
                }
                case DataType.INT16_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = b.getShort(i * 2);
                }
                case DataType.UINT16_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = b.getShort(i * 2) & 0xffff;
                }
                case DataType.INT8_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = b.get(i);
                }
                case DataType.UINT8_VALUE, DataType.BOOL_VALUE -> {
                    for (int i = 0; i < n; i++) out[i] = b.get(i) & 0xff;
                }
                default -> throw notInteger(t);
            }
            return out;
        }
        switch (dt) {
            case DataType.INT64_VALUE -> {
                checkTyped(t, t.getInt64DataCount(), n);
                for (int i = 0; i < n; i++) out[i] = t.getInt64Data(i);
            }
            case DataType.UINT64_VALUE, DataType.UINT32_VALUE -> {
                checkTyped(t, t.getUint64DataCount(), n);
                for (int i = 0; i < n; i++) out[i] = t.getUint64Data(i);
            }
            case DataType.INT32_VALUE,
                    DataType.INT16_VALUE,
                    DataType.INT8_VALUE,
                    DataType.UINT16_VALUE,
                    DataType.UINT8_VALUE,
                    DataType.BOOL_VALUE -> {
                checkTyped(t, t.getInt32DataCount(), n);
                for (int i = 0; i < n; i++) out[i] = t.getInt32Data(i);
            }
            default -> throw notInteger(t);
        }
        return out;
    }

    /** Values as ints (see {@link #toLongArray}); values outside the int range are an error. */
    public static int[] toIntArray(TensorProto t) {
        long[] l = toLongArray(t);
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = Math.toIntExact(l[i]);
        }
        return out;
    }

    /** Values as booleans (non-zero is true); BOOL and integer types. */
    public static boolean[] toBooleanArray(TensorProto t) {
        long[] l = toLongArray(t);
        boolean[] out = new boolean[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = l[i] != 0;
        }
        return out;
    }

    /**
     * The tensor's data as little-endian bytes, the same layout raw_data has: raw_data itself when present,
     * otherwise converted from the typed fields. STRING and sub-byte typed storage are not supported.
     */
    public static ByteString rawBytes(TensorProto t) {
        if (t.hasRawData()) {
            return t.getRawData();
        }
        int dt = t.getDataType();
        int bits = elementBits(dt);
        if (bits < 8) {
            throw new InvalidArgumentException(
                    "tensor '" + t.getName() + "': cannot convert " + dtypeName(dt) + " typed data to raw bytes");
        }
        int n = count(t);
        ByteBuffer b = le((long) n * (bits / 8));
        switch (dt) {
            case DataType.FLOAT_VALUE -> {
                checkTyped(t, t.getFloatDataCount(), n);
                for (int i = 0; i < n; i++) b.putFloat(t.getFloatData(i));
            }
            case DataType.COMPLEX64_VALUE -> {
                checkTyped(t, t.getFloatDataCount(), 2 * n);
                for (int i = 0; i < 2 * n; i++) b.putFloat(t.getFloatData(i));
            }
            case DataType.DOUBLE_VALUE -> {
                checkTyped(t, t.getDoubleDataCount(), n);
                for (int i = 0; i < n; i++) b.putDouble(t.getDoubleData(i));
            }
            case DataType.COMPLEX128_VALUE -> {
                checkTyped(t, t.getDoubleDataCount(), 2 * n);
                for (int i = 0; i < 2 * n; i++) b.putDouble(t.getDoubleData(i));
            }
            case DataType.INT64_VALUE -> {
                checkTyped(t, t.getInt64DataCount(), n);
                for (int i = 0; i < n; i++) b.putLong(t.getInt64Data(i));
            }
            case DataType.UINT64_VALUE -> {
                checkTyped(t, t.getUint64DataCount(), n);
                for (int i = 0; i < n; i++) b.putLong(t.getUint64Data(i));
            }
            case DataType.UINT32_VALUE -> {
                checkTyped(t, t.getUint64DataCount(), n);
                for (int i = 0; i < n; i++) b.putInt((int) t.getUint64Data(i));
            }
            default -> {
                checkTyped(t, t.getInt32DataCount(), n);
                for (int i = 0; i < n; i++) {
                    int v = t.getInt32Data(i);
                    switch (bits) {
                        case 8 -> b.put((byte) v);
                        case 16 -> b.putShort((short) v);
                        default -> b.putInt(v);
                    }
                }
            }
        }
        return UnsafeByteOperations.unsafeWrap(b.array());
    }

    /** The same tensor with its data moved from the typed fields into raw_data (unchanged if already raw). */
    public static TensorProto withRawData(TensorProto t) {
        if (t.hasRawData() || t.getDataType() == DataType.STRING_VALUE) {
            return t;
        }
        ByteString raw = rawBytes(t);
        return t.toBuilder()
                .clearFloatData()
                .clearDoubleData()
                .clearInt32Data()
                .clearInt64Data()
                .clearUint64Data()
                .setRawData(raw)
                .build();
    }

    private static int count(TensorProto t) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new InvalidArgumentException("tensor '" + t.getName()
                    + "' still refers to external data; read the model with OnnxModel.read(Path)");
        }
        long n = numElements(t);
        if (n > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException(
                    "tensor '" + t.getName() + "' has " + n + " elements, too many for a Java array");
        }
        return (int) n;
    }

    private static ByteBuffer rawBuffer(TensorProto t, int n) {
        long need = byteSize(t.getDataType(), n);
        if (t.getRawData().size() != need) {
            throw new ModelFormatException("tensor '" + t.getName() + "': dims " + t.getDimsList() + " of "
                    + dtypeName(t.getDataType()) + " need " + need + " bytes of raw_data, found "
                    + t.getRawData().size());
        }
        return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void checkTyped(TensorProto t, int have, int need) {
        if (have != need) {
            throw new ModelFormatException("tensor '" + t.getName() + "' (" + dtypeName(t.getDataType()) + ", dims "
                    + t.getDimsList() + ") needs " + need + " values but holds " + have);
        }
    }

    private static InvalidArgumentException notInteger(TensorProto t) {
        return new InvalidArgumentException(
                "tensor '" + t.getName() + "' is " + dtypeName(t.getDataType()) + ", not an integer or bool tensor");
    }

    /** IEEE half-precision bits to float. */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        if (exp == 31) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    // ---- data types ----

    /** The ONNX name of a data type ("FLOAT", "INT64"...), or "DATATYPE_n" when unknown here. */
    public static String dtypeName(int dataType) {
        DataType d = DataType.forNumber(dataType);
        return d == null ? "DATATYPE_" + dataType : d.name();
    }

    /** Bits per element (4 for INT4/UINT4/FLOAT4E2M1), or -1 for STRING, UNDEFINED and unknown types. */
    public static int elementBits(int dataType) {
        return switch (dataType) {
            case DataType.UINT8_VALUE,
                    DataType.INT8_VALUE,
                    DataType.BOOL_VALUE,
                    DataType.FLOAT8E4M3FN_VALUE,
                    DataType.FLOAT8E4M3FNUZ_VALUE,
                    DataType.FLOAT8E5M2_VALUE,
                    DataType.FLOAT8E5M2FNUZ_VALUE -> 8;
            case DataType.UINT16_VALUE, DataType.INT16_VALUE, DataType.FLOAT16_VALUE, DataType.BFLOAT16_VALUE -> 16;
            case DataType.FLOAT_VALUE, DataType.INT32_VALUE, DataType.UINT32_VALUE -> 32;
            case DataType.INT64_VALUE, DataType.UINT64_VALUE, DataType.DOUBLE_VALUE, DataType.COMPLEX64_VALUE -> 64;
            case DataType.COMPLEX128_VALUE -> 128;
            case DataType.UINT4_VALUE, DataType.INT4_VALUE, DataType.FLOAT4E2M1_VALUE -> 4;
            default -> -1;
        };
    }

    /** Bytes per element; an error for STRING, sub-byte and unknown types. */
    public static int elementSize(int dataType) {
        int bits = elementBits(dataType);
        if (bits < 8) {
            throw new InvalidArgumentException(dtypeName(dataType) + " has no whole-byte element size");
        }
        return bits / 8;
    }

    /** Bytes that {@code elements} values of the type take as raw data (sub-byte types packed, rounded up). */
    public static long byteSize(int dataType, long elements) {
        int bits = elementBits(dataType);
        if (bits <= 0) {
            throw new InvalidArgumentException(dtypeName(dataType) + " has no fixed element size");
        }
        return (Math.multiplyExact(elements, bits) + 7) / 8;
    }
}
