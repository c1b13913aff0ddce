package dev.rectify.train;

import com.google.flatbuffers.FlatBufferBuilder;
import com.google.protobuf.ByteString;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes an ONNX Runtime training checkpoint (flatbuffer {@code ODTC}, version 2) without flatc, as
 * ort-training-facts.md §4.4 states: both tensor vectors always present, tensors sorted by name, optional property
 * bag, no optimizer group (ORT starts with zero moments). Options: a nominal state (names, dims and types only,
 * empty raw_data) and external data ({@code <checkpoint>.data}, 4/8-byte aligned) for large tensors. The builder is
 * presized, so tensors up to the flatbuffer's 2 GiB limit work. Files are written atomically.
 */
public final class CheckpointWriter {
    /** flatbuffers cannot address more; beyond it use {@link #externalData(boolean)}. */
    static final long INLINE_LIMIT = Integer.MAX_VALUE - (64L << 20);

    private final List<TensorProto> trainable = new ArrayList<>();
    private final List<TensorProto> frozen = new ArrayList<>();
    private final Map<String, Long> ints = new LinkedHashMap<>();
    private final Map<String, Float> floats = new LinkedHashMap<>();
    private final Map<String, String> strings = new LinkedHashMap<>();
    private boolean nominal;
    private boolean external;

    private CheckpointWriter() {}

    public static CheckpointWriter create() {
        return new CheckpointWriter();
    }

    /** Adds a trainable tensor (requires_grad_params). Data must be inline (raw or typed fields). */
    public CheckpointWriter trainable(TensorProto t) {
        trainable.add(check(t));
        return this;
    }

    /** Adds a frozen tensor (frozen_params). */
    public CheckpointWriter frozen(TensorProto t) {
        frozen.add(check(t));
        return this;
    }

    public CheckpointWriter property(String name, long value) {
        ints.put(name, value);
        return this;
    }

    public CheckpointWriter property(String name, float value) {
        floats.put(name, value);
        return this;
    }

    public CheckpointWriter property(String name, String value) {
        strings.put(name, value);
        return this;
    }

    /** A nominal state: no values; the caller must push all parameters with CopyBufferToParameters. */
    public CheckpointWriter nominal(boolean nominal) {
        this.nominal = nominal;
        return this;
    }

    /** Tensor values go to {@code <checkpoint>.data} instead of the flatbuffer. */
    public CheckpointWriter externalData(boolean external) {
        this.external = external;
        return this;
    }

    private static TensorProto check(TensorProto t) {
        if (t.getName().isEmpty()) {
            throw new InvalidArgumentException("checkpoint tensors need names");
        }
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new InvalidArgumentException("checkpoint tensor '" + t.getName() + "' still refers to external data");
        }
        return t;
    }

    /** Total bytes of tensor data. */
    long dataBytes() {
        long n = 0;
        for (TensorProto t : trainable) {
            n += Tensors.byteSize(t.getDataType(), Tensors.numElements(t));
        }
        for (TensorProto t : frozen) {
            n += Tensors.byteSize(t.getDataType(), Tensors.numElements(t));
        }
        return n;
    }

    /** Writes the checkpoint (and {@code <file>.data} with external data) atomically. */
    public void write(Path file) {
        boolean inline = !nominal && !external;
        if (inline && dataBytes() > INLINE_LIMIT) {
            throw new InvalidArgumentException("checkpoint " + file + ": " + dataBytes()
                    + " bytes of tensors exceed the " + "flatbuffer's 2 GiB limit; write it with external data");
        }
        Path dataFile = Path.of(file.toAbsolutePath() + ".data");
        Path tmpData = null;
        Path tmp = null;
        try {
            Map<String, Long> offsets = new LinkedHashMap<>();
            if (external && !nominal) {
                tmpData = AtomicFile.tempSibling(dataFile);
                writeData(tmpData, offsets);
            }
            long size = (inline ? dataBytes() : 0) + 64L * (trainable.size() + frozen.size() + 16) + (1 << 16);
            FlatBufferBuilder b = new FlatBufferBuilder((int) Math.min(Integer.MAX_VALUE - 16, size));
            int[] req = tensors(b, sorted(trainable), offsets);
            int[] frz = tensors(b, sorted(frozen), offsets);
            int reqVec = b.createVectorOfTables(req);
            int frzVec = b.createVectorOfTables(frz);
            b.startTable(4);
            b.addOffset(0, reqVec, 0);
            b.addOffset(1, frzVec, 0);
            b.addBoolean(2, nominal, false);
            b.addBoolean(3, external && !nominal, false);
            int module = b.endTable();
            int bag = propertyBag(b);
            b.startTable(4);
            b.addInt(0, 2, 0);
            b.addOffset(1, module, 0);
            if (bag != 0) {
                b.addOffset(3, bag, 0);
            }
            int root = b.endTable();
            b.finish(root, "ODTC");
            ByteBuffer out = b.dataBuffer();
            tmp = AtomicFile.tempSibling(file);
            try (FileChannel ch =
                    FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                while (out.hasRemaining()) {
                    ch.write(out);
                }
                ch.force(true);
            }
            if (tmpData != null) {
                AtomicFile.move(tmpData, dataFile);
                tmpData = null;
            }
            AtomicFile.move(tmp, file.toAbsolutePath());
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + file + ": " + e.getMessage(), e);
        } finally {
            deleteQuietly(tmp);
            deleteQuietly(tmpData);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // best effort
            }
        }
    }

    private static List<TensorProto> sorted(List<TensorProto> ts) {
        List<TensorProto> s = new ArrayList<>(ts);
        s.sort(Comparator.comparing(TensorProto::getName));
        return s;
    }

    private void writeData(Path tmp, Map<String, Long> offsets) throws IOException {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                OutputStream os = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 20)) {
            long pos = 0;
            for (TensorProto t : concat(sorted(trainable), sorted(frozen))) {
                int align = Tensors.elementBits(t.getDataType()) >= 64 ? 8 : 4;
                while (pos % align != 0) {
                    os.write(0);
                    pos++;
                }
                offsets.put(t.getName(), pos);
                ByteString raw = Tensors.rawBytes(t);
                raw.writeTo(os);
                pos += raw.size();
            }
            os.flush();
            ch.force(true);
        }
    }

    private static List<TensorProto> concat(List<TensorProto> a, List<TensorProto> b) {
        List<TensorProto> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    private int[] tensors(FlatBufferBuilder b, List<TensorProto> ts, Map<String, Long> offsets) {
        int[] out = new int[ts.size()];
        for (int i = 0; i < ts.size(); i++) {
            TensorProto t = ts.get(i);
            int name = b.createString(t.getName());
            b.startVector(8, t.getDimsCount(), 8);
            for (int d = t.getDimsCount() - 1; d >= 0; d--) {
                b.addLong(t.getDims(d));
            }
            int dims = b.endVector();
            int raw = 0;
            Long offset = offsets.get(t.getName());
            if (nominal) {
                raw = b.createByteVector(new byte[0]);
            } else if (offset == null) {
                ByteString data = Tensors.rawBytes(t);
                ByteBuffer v = b.createUnintializedVector(1, data.size(), 16);
                data.copyTo(v);
                raw = b.endVector();
            }
            b.startTable(7);
            b.addOffset(0, name, 0);
            b.addOffset(2, dims, 0);
            b.addInt(3, t.getDataType(), 0);
            if (raw != 0) {
                b.addOffset(4, raw, 0);
            }
            if (offset != null) {
                b.addLong(6, offset, -1L);
            }
            out[i] = b.endTable();
        }
        return out;
    }

    private int propertyBag(FlatBufferBuilder b) {
        if (ints.isEmpty() && floats.isEmpty() && strings.isEmpty()) {
            return 0;
        }
        int[] iv = new int[ints.size()];
        int k = 0;
        for (var e : ints.entrySet()) {
            int n = b.createString(e.getKey());
            b.startTable(2);
            b.addLong(1, e.getValue(), 0L);
            b.addOffset(0, n, 0);
            iv[k++] = b.endTable();
        }
        int[] fv = new int[floats.size()];
        k = 0;
        for (var e : floats.entrySet()) {
            int n = b.createString(e.getKey());
            b.startTable(2);
            b.addOffset(0, n, 0);
            b.addFloat(1, e.getValue(), 0.0);
            fv[k++] = b.endTable();
        }
        int[] sv = new int[strings.size()];
        k = 0;
        for (var e : strings.entrySet()) {
            int n = b.createString(e.getKey());
            int v = b.createString(e.getValue());
            b.startTable(2);
            b.addOffset(0, n, 0);
            b.addOffset(1, v, 0);
            sv[k++] = b.endTable();
        }
        int ivec = b.createVectorOfTables(iv);
        int fvec = b.createVectorOfTables(fv);
        int svec = b.createVectorOfTables(sv);
        b.startTable(3);
        b.addOffset(0, ivec, 0);
        b.addOffset(1, fvec, 0);
        b.addOffset(2, svec, 0);
        return b.endTable();
    }
}
