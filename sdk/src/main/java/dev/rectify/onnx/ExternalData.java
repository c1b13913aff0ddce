package dev.rectify.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/** Reading ONNX external data into raw_data, and writing initializers out to a side file. */
final class ExternalData {
    /** Alignment of tensor offsets in files this class writes (a page, as onnx/ORT like for mmap). */
    static final int ALIGNMENT = 4096;

    private ExternalData() {}

    static boolean isExternal(TensorProto t) {
        return t.getDataLocation() == TensorProto.DataLocation.EXTERNAL;
    }

    /** Whether any tensor of {@code m} still refers to external data. */
    static boolean hasExternal(ModelProto m) {
        boolean[] found = {false};
        TensorWalker.map(m, t -> {
            if (isExternal(t)) {
                found[0] = true;
            }
            return t;
        });
        return found[0];
    }

    /** Replaces every external reference in {@code m} by raw_data read from files next to {@code modelFile}. */
    static ModelProto resolve(ModelProto m, Path modelFile) {
        Path dir = modelFile.toAbsolutePath().normalize().getParent();
        try (Reader r = new Reader(modelFile, dir)) {
            return TensorWalker.map(m, t -> isExternal(t) ? r.load(t) : t);
        }
    }

    private static final class Reader implements AutoCloseable {
        private final Path modelFile;
        private final Path dir;
        private final Map<Path, FileChannel> open = new HashMap<>();

        Reader(Path modelFile, Path dir) {
            this.modelFile = modelFile;
            this.dir = dir;
        }

        TensorProto load(TensorProto t) {
            ExternalRef ref = ExternalRef.of(t, what -> fail(t, null, what));
            String location = ref.location();
            long offset = ref.offset();
            long length = ref.length();
            Path file = safePath(t, location);
            long expected = expectedBytes(t);
            FileChannel ch = channel(t, file);
            try {
                long size = ch.size();
                if (length < 0) {
                    length = expected >= 0 ? expected : size - offset;
                }
                if (expected >= 0 && length != expected) {
                    throw fail(
                            t,
                            file,
                            "external data length " + length + " does not match dims " + t.getDimsList() + " of "
                                    + Tensors.dtypeName(t.getDataType()) + " (" + expected + " bytes)");
                }
                if (offset + length > size || length < 0) {
                    throw fail(
                            t,
                            file,
                            "short read: needs bytes [" + offset + ", " + (offset + length) + ") but the file has "
                                    + size + " bytes");
                }
                if (length > Integer.MAX_VALUE - 8) {
                    throw fail(t, file, length + " bytes exceed the 2 GiB limit of one tensor in memory");
                }
                byte[] data = new byte[(int) length];
                ByteBuffer buf = ByteBuffer.wrap(data);
                long pos = offset;
                while (buf.hasRemaining()) {
                    int read = ch.read(buf, pos);
                    if (read < 0) {
                        throw fail(t, file, "short read at byte " + pos);
                    }
                    pos += read;
                }
                return t.toBuilder()
                        .clearExternalData()
                        .clearDataLocation()
                        .setRawData(UnsafeByteOperations.unsafeWrap(data))
                        .build();
            } catch (IOException e) {
                throw new ExternalDataException(
                        modelFile + ": cannot read external data of tensor '" + t.getName() + "' from " + file + ": "
                                + e.getMessage(),
                        e);
            }
        }

        private long expectedBytes(TensorProto t) {
            if (Tensors.elementBits(t.getDataType()) <= 0) {
                return -1;
            }
            try {
                return Tensors.byteSize(t.getDataType(), Tensors.numElements(t));
            } catch (RuntimeException e) {
                throw fail(t, null, "bad dims " + t.getDimsList() + ": " + e.getMessage());
            }
        }

        private Path safePath(TensorProto t, String location) {
            Path rel;
            try {
                rel = Path.of(location);
            } catch (InvalidPathException e) {
                throw fail(t, null, "invalid external data location '" + location + "'");
            }
            Path file = dir.resolve(rel).normalize();
            if (rel.isAbsolute() || !file.startsWith(dir)) {
                throw fail(
                        t,
                        null,
                        "external data location '" + location + "' is outside the model's folder " + dir + "; refused");
            }
            if (!Files.isRegularFile(file)) {
                throw fail(t, file, "external data file does not exist");
            }
            try {
                if (!file.toRealPath().startsWith(dir.toRealPath())) {
                    throw fail(
                            t,
                            file,
                            "external data file resolves (through a link) outside the model's folder; refused");
                }
            } catch (IOException e) {
                throw fail(t, file, "cannot resolve external data file: " + e.getMessage());
            }
            return file;
        }

        private FileChannel channel(TensorProto t, Path file) {
            FileChannel ch = open.get(file);
            if (ch == null) {
                try {
                    ch = FileChannel.open(file, StandardOpenOption.READ);
                } catch (IOException e) {
                    throw fail(t, file, "cannot open external data file: " + e.getMessage());
                }
                open.put(file, ch);
            }
            return ch;
        }

        private ExternalDataException fail(TensorProto t, Path file, String what) {
            return new ExternalDataException(modelFile + ": tensor '" + t.getName() + "'"
                    + (file == null ? "" : " (external data file " + file + ")") + ": " + what);
        }

        @Override
        public void close() {
            for (FileChannel ch : open.values()) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // read-only
                }
            }
        }
    }

    /**
     * Moves the top-level initializers of at least {@code threshold} bytes into {@code data} (aligned to
     * {@link #ALIGNMENT}), returning the model that refers to them as {@code location}.
     */
    static ModelProto externalize(ModelProto m, String location, long threshold, OutputStream data) throws IOException {
        if (!m.hasGraph()) {
            return m;
        }
        long pos = 0;
        ModelProto.Builder b = m.toBuilder();
        var g = b.getGraphBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (t.getDataType() == TensorProto.DataType.STRING_VALUE || Tensors.elementBits(t.getDataType()) <= 0) {
                continue;
            }
            if (!t.hasRawData() && Tensors.elementBits(t.getDataType()) < 8) {
                continue;
            }
            ByteString raw = Tensors.rawBytes(t);
            if (raw.size() < threshold) {
                continue;
            }
            long pad = (ALIGNMENT - pos % ALIGNMENT) % ALIGNMENT;
            data.write(new byte[(int) pad]);
            pos += pad;
            long offset = pos;
            raw.writeTo(data);
            pos += raw.size();
            g.setInitializer(
                    i,
                    t.toBuilder()
                            .clearRawData()
                            .clearFloatData()
                            .clearDoubleData()
                            .clearInt32Data()
                            .clearInt64Data()
                            .clearUint64Data()
                            .clearExternalData()
                            .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", location))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Long.toString(raw.size())))
                            .build());
        }
        return b.build();
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }
}
