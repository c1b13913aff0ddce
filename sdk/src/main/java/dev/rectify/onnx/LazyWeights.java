package dev.rectify.onnx;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Models whose weights never pass through the Java heap. {@link #open(Path)} reads only the graph: the file is
 * memory-mapped and parsed with aliasing, and every initializer of at least {@link #IN_PLACE_BYTES} (inline in the
 * .onnx file or in external data files) becomes a reference to its bytes where they lie, so graph surgery touches
 * only the graph proto. {@link #write} writes one or more such models next to each other with a single shared
 * external data file, copying each referenced weight once, file to file ({@link FileChannel#transferTo}, no size
 * limit per tensor or file), atomically (temporary files, fsync, rename). {@link #load} maps one tensor's data
 * (off heap) for the rare caller that needs the values, such as full fine-tuning's checkpoint.
 * <p>
 * References made here carry the absolute path of their file as {@code location}; they are internal, and
 * {@link OnnxModel#write(Path)} refuses models that still hold them.
 */
public final class LazyWeights {
    /** Initializers at least this large (bytes) stay where they are on disk; smaller ones are parsed inline. */
    public static final long IN_PLACE_BYTES = 1024;

    private LazyWeights() {}

    /** Reads the graph of {@code file}, leaving its weights on disk. Typed errors as {@link OnnxModel#read}. */
    public static OnnxModel open(Path file) {
        Path abs = file.toAbsolutePath().normalize();
        MappedByteBuffer mapped;
        try (FileChannel ch = FileChannel.open(abs, StandardOpenOption.READ)) {
            if (ch.size() > Integer.MAX_VALUE - 8) {
                throw ModelFormatException.at(
                        file, "larger than protobuf's 2 GiB limit; large weights must be " + "stored as external data");
            }
            mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        } catch (NoSuchFileException e) {
            throw ModelFormatException.at(file, "no such file", e);
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot read: " + e, e);
        }
        Map<String, InitializerRegions.Region> regions;
        ModelProto m = OnnxModel.parseProto(mapped.duplicate(), file.toString());
        try {
            regions = InitializerRegions.of(mapped.duplicate().clear());
        } catch (IllegalStateException e) {
            throw ModelFormatException.at(file, "corrupt protobuf: " + e.getMessage(), e);
        }
        Path dir = abs.getParent();
        ModelProto.Builder b = m.toBuilder();
        GraphProto.Builder g = b.getGraphBuilder();
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = g.getInitializer(i);
            if (ExternalData.isExternal(t)) {
                g.setInitializer(i, absolute(t, abs, dir));
            } else if (t.hasRawData() && t.getRawData().size() >= IN_PLACE_BYTES) {
                InitializerRegions.Region r = regions.get(t.getName());
                if (r != null && r.length() == t.getRawData().size()) {
                    g.setInitializer(i, reference(t, abs.toString(), r.offset(), r.length()));
                }
            }
        }
        ModelProto out = b.build();
        if (ExternalData.hasExternal(out)) {
            // external tensors outside the top-level initializers (Constant attributes, subgraphs): mapped in place
            out = TensorWalker.map(
                    out,
                    t -> ExternalData.isExternal(t)
                                    && !Path.of(location(t, abs)).isAbsolute()
                            ? load(absolute(t, abs, dir))
                            : t);
        }
        return OnnxModel.of(out);
    }

    /**
     * {@code t} with its data present: itself when inline, otherwise its referenced bytes memory-mapped (off heap).
     * A tensor of more than 2 GiB cannot be held as one protobuf value: {@link ExternalDataException}.
     */
    public static TensorProto load(TensorProto t) {
        if (!ExternalData.isExternal(t)) {
            return t;
        }
        ExternalRef r = ref(t, null);
        if (!Path.of(r.location()).isAbsolute()) {
            throw new InvalidArgumentException("tensor '" + t.getName() + "' refers to external data '" + r.location()
                    + "' relative to an unknown folder; open the model with LazyWeights.open(Path)");
        }
        if (r.length() > Integer.MAX_VALUE - 8) {
            throw new ExternalDataException("tensor '" + t.getName() + "' (" + r.location() + "): " + r.length()
                    + " bytes exceed the 2 GiB limit of one tensor held in memory; keep it frozen (it is then copied "
                    + "file to file) or split it");
        }
        try (FileChannel ch = FileChannel.open(Path.of(r.location()), StandardOpenOption.READ)) {
            ByteBuffer data = ch.map(FileChannel.MapMode.READ_ONLY, r.offset(), r.length());
            return t.toBuilder()
                    .clearExternalData()
                    .clearDataLocation()
                    .setRawData(UnsafeByteOperations.unsafeWrap(data))
                    .build();
        } catch (IOException e) {
            throw new ExternalDataException(
                    "cannot map the data of tensor '" + t.getName() + "' from " + r.location() + ": " + e.getMessage(),
                    e);
        }
    }

    /**
     * Writes each model to its file (all in one folder) with every top-level initializer that is a reference, or at
     * least {@code threshold} bytes inline, stored once in {@code dataFileName} in that folder at 4096-byte aligned
     * offsets, shared by all the models. The data file is written and synced first; every file is replaced atomically.
     */
    public static void write(Map<Path, OnnxModel> models, String dataFileName, long threshold) {
        if (models.isEmpty()) {
            return;
        }
        if (dataFileName == null
                || dataFileName.isEmpty()
                || dataFileName.contains("/")
                || dataFileName.contains("\\")
                || dataFileName.equals(".")
                || dataFileName.equals("..")) {
            throw new InvalidArgumentException(
                    "external data file name must be a plain file name, got '" + dataFileName + "'");
        }
        Path dir =
                models.keySet().iterator().next().toAbsolutePath().normalize().getParent();
        for (Path p : models.keySet()) {
            if (!p.toAbsolutePath().normalize().getParent().equals(dir)) {
                throw new InvalidArgumentException(
                        "models sharing one data file must be in one folder: " + p + " is not in " + dir);
            }
        }
        Path dataFile = dir.resolve(dataFileName);
        List<AtomicFile> open = new ArrayList<>();
        try (AtomicFile data = AtomicFile.begin(dataFile)) {
            open.add(data);
            Copier copier = new Copier(data.channel(), dataFileName, threshold);
            Map<Path, ModelProto> rewritten = new LinkedHashMap<>();
            for (Map.Entry<Path, OnnxModel> e : models.entrySet()) {
                rewritten.put(e.getKey(), copier.externalize(e.getValue().proto()));
            }
            copier.close();
            data.sync();
            for (Map.Entry<Path, ModelProto> e : rewritten.entrySet()) {
                OnnxModel.checkSize(e.getValue(), e.getKey());
                AtomicFile f = AtomicFile.begin(e.getKey());
                open.add(f);
                OnnxModel.writeProto(e.getValue(), f.stream());
                f.sync();
            }
            for (AtomicFile f : open) {
                f.commit();
            }
        } catch (IOException e) {
            throw new ModelWriteException(
                    "cannot write " + models.keySet() + " with external data " + dataFile + ": " + e, e);
        } finally {
            for (AtomicFile f : open) {
                f.close();
            }
        }
    }

    /** Copies weights into the shared data file, each source once. */
    private static final class Copier {
        private final FileChannel out;
        private final String location;
        private final long threshold;
        private final Map<String, Long> copied = new HashMap<>();
        private final Map<ByteString, Long> written = new IdentityHashMap<>();
        private final Map<String, FileChannel> sources = new HashMap<>();
        private long pos;

        Copier(FileChannel out, String location, long threshold) {
            this.out = out;
            this.location = location;
            this.threshold = Math.max(0, threshold);
        }

        ModelProto externalize(ModelProto m) throws IOException {
            if (!m.hasGraph()) {
                return m;
            }
            ModelProto.Builder b = m.toBuilder();
            GraphProto.Builder g = b.getGraphBuilder();
            for (int i = 0; i < g.getInitializerCount(); i++) {
                TensorProto t = g.getInitializer(i);
                if (ExternalData.isExternal(t)) {
                    ExternalRef r = ref(t, null);
                    if (!Path.of(r.location()).isAbsolute()) {
                        throw new InvalidArgumentException("tensor '" + t.getName() + "' refers to external data '"
                                + r.location() + "' of an unknown folder; open the model with LazyWeights.open(Path)");
                    }
                    String key = r.location() + "@" + r.offset() + "+" + r.length();
                    Long at = copied.get(key);
                    if (at == null) {
                        at = align();
                        transfer(r);
                        copied.put(key, at);
                    }
                    g.setInitializer(i, reference(t, location, at, r.length()));
                    continue;
                }
                if (t.getDataType() == TensorProto.DataType.STRING_VALUE
                        || Tensors.elementBits(t.getDataType()) <= 0
                        || !t.hasRawData() && Tensors.elementBits(t.getDataType()) < 8) {
                    continue;
                }
                ByteString raw = Tensors.rawBytes(t);
                if (raw.size() < threshold) {
                    continue;
                }
                Long at = written.get(raw);
                if (at == null) {
                    at = align();
                    for (ByteBuffer bb : raw.asReadOnlyByteBufferList()) {
                        while (bb.hasRemaining()) {
                            pos += out.write(bb);
                        }
                    }
                    written.put(raw, at);
                }
                g.setInitializer(i, reference(t, location, at, raw.size()));
            }
            return b.build();
        }

        private long align() throws IOException {
            long pad = (ExternalData.ALIGNMENT - pos % ExternalData.ALIGNMENT) % ExternalData.ALIGNMENT;
            ByteBuffer zeros = ByteBuffer.allocate((int) pad);
            while (zeros.hasRemaining()) {
                pos += out.write(zeros);
            }
            return pos;
        }

        private void transfer(ExternalRef r) throws IOException {
            FileChannel src = sources.get(r.location());
            if (src == null) {
                src = FileChannel.open(Path.of(r.location()), StandardOpenOption.READ);
                sources.put(r.location(), src);
            }
            if (r.offset() + r.length() > src.size()) {
                throw new ExternalDataException(r.location() + ": short external data: needs bytes [" + r.offset()
                        + ", " + (r.offset() + r.length()) + ") but the file has " + src.size() + " bytes");
            }
            long done = 0;
            while (done < r.length()) {
                long n = src.transferTo(r.offset() + done, r.length() - done, out);
                if (n <= 0) {
                    throw new IOException("short copy from " + r.location() + " at byte " + (r.offset() + done));
                }
                done += n;
            }
            out.position(pos + r.length());
            pos += r.length();
        }

        void close() throws IOException {
            for (FileChannel c : sources.values()) {
                c.close();
            }
        }
    }

    /** {@code t}'s external data reference, checked; errors name {@code model} when known. */
    private static ExternalRef ref(TensorProto t, Path model) {
        return ExternalRef.of(t, what -> fail(t, model, what));
    }

    private static String location(TensorProto t, Path model) {
        return ref(t, model).location();
    }

    /** A reference of {@code model}'s folder made absolute, after the same checks as {@link OnnxModel#read}. */
    private static TensorProto absolute(TensorProto t, Path model, Path dir) {
        ExternalRef r = ref(t, model);
        Path rel;
        try {
            rel = Path.of(r.location());
        } catch (InvalidPathException e) {
            throw fail(t, model, "invalid external data location '" + r.location() + "'");
        }
        Path file = dir.resolve(rel).normalize();
        if (rel.isAbsolute() || !file.startsWith(dir)) {
            throw fail(
                    t,
                    model,
                    "external data location '" + r.location() + "' is outside the model's folder " + dir + "; refused");
        }
        long size;
        try {
            if (!file.toRealPath().startsWith(dir.toRealPath())) {
                throw fail(
                        t,
                        model,
                        "external data file " + file + " resolves (through a link) outside the model's "
                                + "folder; refused");
            }
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw fail(t, model, "external data file " + file + " does not exist");
        } catch (IOException e) {
            throw fail(t, model, "cannot read external data file " + file + ": " + e.getMessage());
        }
        long expected = Tensors.elementBits(t.getDataType()) > 0
                ? Tensors.byteSize(t.getDataType(), Tensors.numElements(t))
                : -1;
        long length = r.length() >= 0 ? r.length() : expected >= 0 ? expected : size - r.offset();
        if (expected >= 0 && length != expected) {
            throw fail(
                    t,
                    model,
                    "external data length " + length + " does not match dims " + t.getDimsList() + " of "
                            + Tensors.dtypeName(t.getDataType()) + " (" + expected + " bytes)");
        }
        if (r.offset() + length > size) {
            throw fail(
                    t,
                    model,
                    "short external data in " + file + ": needs bytes [" + r.offset() + ", " + (r.offset() + length)
                            + ") but the file has " + size + " bytes");
        }
        return reference(t, file.toString(), r.offset(), length);
    }

    private static TensorProto reference(TensorProto t, String location, long offset, long length) {
        return t.toBuilder()
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
                .addExternalData(entry("length", Long.toString(length)))
                .build();
    }

    private static StringStringEntryProto entry(String k, String v) {
        return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
    }

    private static ExternalDataException fail(TensorProto t, Path model, String what) {
        return new ExternalDataException((model == null ? "" : model + ": ") + "tensor '" + t.getName() + "': " + what);
    }
}
