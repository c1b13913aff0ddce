package dev.rectify.ort;

import dev.rectify.core.HalfFloats;
import dev.rectify.core.InvalidArgumentException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.onnxruntime.OrtApi;
import org.bytedeco.onnxruntime.OrtTensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.OrtValue;

/**
 * A dense tensor held in native memory as an ORT {@code OrtValue}. Tensors made from Java arrays copy the data
 * once into ORT-allocated memory; tensors returned by a run are ORT's and are handed over without copying.
 * Close a tensor to free its memory; a closed tensor cannot be read.
 */
public final class Tensor implements AutoCloseable {
    private final OrtValue value;
    private final ElementType type;
    private final long[] shape;
    private final long count;
    private boolean closed;

    private Tensor(OrtValue value, ElementType type, long[] shape) {
        this.value = value;
        this.type = type;
        this.shape = shape;
        this.count = elementCount(shape);
    }

    /** A float tensor holding a copy of {@code data}, whose length must equal the product of {@code shape}. */
    public static Tensor ofFloats(float[] data, long... shape) {
        Tensor t = allocate(ElementType.FLOAT, shape, data.length);
        t.byteView().asFloatBuffer().put(data);
        return t;
    }

    /** An int64 tensor holding a copy of {@code data}. */
    public static Tensor ofLongs(long[] data, long... shape) {
        Tensor t = allocate(ElementType.INT64, shape, data.length);
        t.byteView().asLongBuffer().put(data);
        return t;
    }

    /** An int32 tensor holding a copy of {@code data}. */
    public static Tensor ofInts(int[] data, long... shape) {
        Tensor t = allocate(ElementType.INT32, shape, data.length);
        t.byteView().asIntBuffer().put(data);
        return t;
    }

    /** A bool tensor holding a copy of {@code data}. */
    public static Tensor ofBooleans(boolean[] data, long... shape) {
        Tensor t = allocate(ElementType.BOOL, shape, data.length);
        ByteBuffer b = t.byteView();
        for (boolean v : data) {
            b.put((byte) (v ? 1 : 0));
        }
        return t;
    }

    /** A zero-filled tensor; dims may be 0 (an empty tensor, as for an empty KV cache). */
    public static Tensor zeros(ElementType type, long... shape) {
        Tensor t = allocate(type, shape, -1);
        ByteBuffer b = t.byteView();
        while (b.hasRemaining()) {
            b.put((byte) 0);
        }
        return t;
    }

    private static Tensor allocate(ElementType type, long[] shape, long expectedCount) {
        long n = elementCount(shape);
        if (expectedCount >= 0 && n != expectedCount) {
            throw new InvalidArgumentException("tensor data has " + expectedCount + " elements but shape "
                    + Arrays.toString(shape) + " needs " + n);
        }
        OrtRuntime rt = OrtRuntime.get();
        OrtValue v = new OrtValue();
        rt.check(
                rt.api()
                        .CreateTensorAsOrtValue(
                                rt.allocator(), new LongPointer(shape), shape.length, type.onnxCode(), v),
                "creating a " + type + " tensor of shape " + Arrays.toString(shape));
        return new Tensor(v, type, shape.clone());
    }

    /** Wraps an OrtValue ORT handed out (run outputs, training parameters); takes ownership. */
    static Tensor adopt(OrtValue value) {
        OrtRuntime rt = OrtRuntime.get();
        OrtApi api = rt.api();
        IntPointer isTensor = new IntPointer(1);
        rt.check(api.IsTensor(value, isTensor), "inspecting an output value");
        if (isTensor.get() == 0) {
            api.ReleaseValue(value);
            throw new OrtException(
                    OrtErrorCode.NOT_IMPLEMENTED,
                    "a model output is not a tensor (sequences and maps are not supported)");
        }
        OrtTensorTypeAndShapeInfo info = new OrtTensorTypeAndShapeInfo();
        rt.check(api.GetTensorTypeAndShape(value, info), "reading a tensor's type and shape");
        try {
            IntPointer et = new IntPointer(1);
            rt.check(api.GetTensorElementType(info, et), "reading a tensor's element type");
            long[] shape = readDims(rt, info);
            ElementType type = ElementType.ofOnnxCode(et.get());
            if (type == null) {
                api.ReleaseValue(value);
                throw new OrtException(
                        OrtErrorCode.NOT_IMPLEMENTED, "unsupported tensor element type code " + et.get());
            }
            return new Tensor(value, type, shape);
        } finally {
            api.ReleaseTensorTypeAndShapeInfo(info);
        }
    }

    static long[] readDims(OrtRuntime rt, OrtTensorTypeAndShapeInfo info) {
        SizeTPointer n = new SizeTPointer(1);
        rt.check(rt.api().GetDimensionsCount(info, n), "reading a tensor's rank");
        long[] dims = new long[(int) n.get()];
        if (dims.length > 0) {
            LongPointer p = new LongPointer(dims.length);
            rt.check(rt.api().GetDimensions(info, p, dims.length), "reading a tensor's dims");
            p.get(dims);
        }
        return dims;
    }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new InvalidArgumentException("tensor dims must be >= 0, got " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** The element type. */
    public ElementType type() {
        return type;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code i}. */
    public long dim(int i) {
        return shape[i];
    }

    /** The number of elements (0 for an empty tensor). */
    public long size() {
        return count;
    }

    /** A little-endian view of the native data, valid until the tensor is closed. */
    public ByteBuffer byteView() {
        ensureOpen();
        long bytes = count * type.byteSize();
        if (bytes > Integer.MAX_VALUE) {
            throw new InvalidArgumentException("tensor of " + bytes + " bytes is too large for a single buffer view");
        }
        if (bytes == 0) {
            return ByteBuffer.allocate(0).order(ByteOrder.nativeOrder());
        }
        OrtRuntime rt = OrtRuntime.get();
        Pointer data = new Pointer();
        rt.check(rt.api().GetTensorMutableData(value, data), "accessing tensor data");
        return new BytePointer(data).capacity(bytes).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /** A view of float data; the tensor must be {@link ElementType#FLOAT}. */
    public FloatBuffer floatView() {
        requireType(ElementType.FLOAT);
        return byteView().asFloatBuffer();
    }

    /** A view of int64 data; the tensor must be {@link ElementType#INT64}. */
    public LongBuffer longView() {
        requireType(ElementType.INT64);
        return byteView().asLongBuffer();
    }

    /** A copy of the data as floats. */
    public float[] toFloats() {
        FloatBuffer b = floatView();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    /**
     * Copies {@code dst.length} elements starting at element {@code offset} into {@code dst} as float32: FLOAT is
     * copied, FLOAT16 and BFLOAT16 are widened exactly (how half-precision logits are read for sampling).
     */
    public void readFloats(long offset, float[] dst) {
        if (offset < 0 || offset + dst.length > count) {
            throw new InvalidArgumentException(
                    "reading " + dst.length + " elements at " + offset + " from a tensor of " + count);
        }
        switch (type) {
            case FLOAT -> floatView().get((int) offset, dst);
            case FLOAT16, BFLOAT16 -> {
                ShortBuffer b = byteView().asShortBuffer();
                boolean half = type == ElementType.FLOAT16;
                for (int i = 0; i < dst.length; i++) {
                    short s = b.get((int) offset + i);
                    dst[i] = half ? HalfFloats.halfToFloat(s) : HalfFloats.bfloat16ToFloat(s);
                }
            }
            default -> throw new InvalidArgumentException("tensor is " + type + ", not a floating-point type");
        }
    }

    /** A copy of the data as longs. */
    public long[] toLongs() {
        LongBuffer b = longView();
        long[] out = new long[b.remaining()];
        b.get(out);
        return out;
    }

    /** A copy of the data as booleans. */
    public boolean[] toBooleans() {
        requireType(ElementType.BOOL);
        ByteBuffer b = byteView();
        boolean[] out = new boolean[b.remaining()];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.get(i) != 0;
        }
        return out;
    }

    OrtValue handle() {
        ensureOpen();
        return value;
    }

    private void requireType(ElementType expected) {
        if (type != expected) {
            throw new InvalidArgumentException("tensor is " + type + ", not " + expected);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("tensor is closed");
        }
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            OrtRuntime.get().api().ReleaseValue(value);
        }
    }

    @Override
    public String toString() {
        return "Tensor[" + type + " " + Arrays.toString(shape) + (closed ? ", closed" : "") + "]";
    }
}
