package dev.rectify.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnsafeByteOperations;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.OperatorSetIdProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * An immutable ONNX model ({@link ModelProto}) with file I/O. {@link #read(Path)} inlines external data, so a
 * model in memory is self-contained; {@link #write(Path, String, long)} moves large initializers back out.
 * Every write is atomic: temporary file in the same folder, fsync, rename.
 */
public final class OnnxModel {
    /** The default ONNX domain's alternative name. */
    public static final String AI_ONNX = "ai.onnx";
    /** The ONNX Runtime contrib ops domain. */
    public static final String MICROSOFT = "com.microsoft";

    private static final int RECURSION_LIMIT = 1000;

    private final ModelProto proto;

    private OnnxModel(ModelProto proto) {
        this.proto = Objects.requireNonNull(proto);
    }

    /** Wraps {@code proto} as is. */
    public static OnnxModel of(ModelProto proto) {
        return new OnnxModel(proto);
    }

    /**
     * Reads an ONNX file and inlines its external data (relative to the file's folder; locations that escape
     * the folder are refused). Throws {@link ModelFormatException} naming the file when it is missing, not an
     * ONNX protobuf, or too large, and {@link ExternalDataException} naming tensor and file for external data
     * that is missing, short or outside the folder.
     */
    public static OnnxModel read(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > Integer.MAX_VALUE - 8) {
                throw ModelFormatException.at(
                        file, "larger than protobuf's 2 GiB limit; large weights must be " + "stored as external data");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw ModelFormatException.at(file, "no such file", e);
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot read: " + e, e);
        }
        ModelProto m = parseProto(bytes, file.toString());
        if (ExternalData.hasExternal(m)) {
            m = ExternalData.resolve(m, file);
        }
        return new OnnxModel(m);
    }

    /** Parses a serialized model; external data references, if any, are left unresolved. */
    public static OnnxModel parse(byte[] bytes) {
        return new OnnxModel(parseProto(bytes, "<bytes>"));
    }

    private static ModelProto parseProto(byte[] bytes, String what) {
        return parseProto(CodedInputStream.newInstance(bytes), what);
    }

    /** Parses a (memory-mapped) buffer with aliasing: bytes fields refer to the buffer instead of being copied. */
    static ModelProto parseProto(ByteBuffer buffer, String what) {
        // through an immutable ByteString: protobuf aliases only buffers it knows to be immutable
        return parseProto(UnsafeByteOperations.unsafeWrap(buffer).newCodedInput(), what);
    }

    private static ModelProto parseProto(CodedInputStream in, String what) {
        in.enableAliasing(true);
        in.setSizeLimit(Integer.MAX_VALUE);
        in.setRecursionLimit(RECURSION_LIMIT);
        ModelProto m;
        try {
            m = ModelProto.parseFrom(in);
            in.checkLastTagWas(0);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelFormatException(
                    what + ": not a valid ONNX model (corrupt protobuf: " + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelFormatException(what + ": cannot parse: " + e, e);
        }
        if (!m.hasIrVersion() && !m.hasGraph()) {
            throw new ModelFormatException(what + ": not an ONNX model (no ir_version and no graph)");
        }
        return m;
    }

    /** Writes the model as one file, all data inline (must stay under protobuf's 2 GiB limit). */
    public void write(Path file) {
        if (hasExternalData()) {
            throw new InvalidArgumentException("cannot write to " + file + ": the model still refers to external "
                    + "data it has not loaded (it was parsed from bytes); read it with OnnxModel.read(Path)");
        }
        checkSize(proto, file);
        try (AtomicFile f = AtomicFile.begin(file)) {
            writeProto(proto, f.stream());
            f.commit();
        } catch (IOException e) {
            throw new ModelWriteException("cannot write " + file + ": " + e, e);
        }
    }

    /**
     * Writes the model to {@code file} with every top-level initializer of at least {@code sizeThreshold} bytes
     * moved to {@code externalDataFileName} (a plain file name in the same folder), at 4096-byte aligned offsets.
     * The data file is always written (empty when nothing qualifies); both files are replaced atomically.
     */
    public void write(Path file, String externalDataFileName, long sizeThreshold) {
        checkDataFileName(externalDataFileName);
        if (hasExternalData()) {
            throw new InvalidArgumentException("cannot write to " + file + ": the model still refers to external "
                    + "data it has not loaded (it was parsed from bytes); read it with OnnxModel.read(Path)");
        }
        Path dataFile = file.toAbsolutePath().getParent().resolve(externalDataFileName);
        if (dataFile.equals(file.toAbsolutePath())) {
            throw new InvalidArgumentException(
                    "external data file name '" + externalDataFileName + "' is the model file itself");
        }
        try (AtomicFile data = AtomicFile.begin(dataFile);
                AtomicFile model = AtomicFile.begin(file)) {
            ModelProto out =
                    ExternalData.externalize(proto, externalDataFileName, Math.max(0, sizeThreshold), data.stream());
            data.sync();
            checkSize(out, file);
            writeProto(out, model.stream());
            model.sync();
            data.commit();
            model.commit();
        } catch (IOException e) {
            throw new ModelWriteException("cannot write " + file + " with external data " + dataFile + ": " + e, e);
        }
    }

    private static void checkDataFileName(String name) {
        if (name == null
                || name.isEmpty()
                || name.equals(".")
                || name.equals("..")
                || name.contains("/")
                || name.contains("\\")) {
            throw new InvalidArgumentException("external data file name must be a plain file name, got '" + name + "'");
        }
    }

    static void checkSize(ModelProto m, Path file) {
        if (m.getSerializedSize() < 0) {
            throw new InvalidArgumentException("cannot write " + file + ": the model exceeds protobuf's 2 GiB limit; "
                    + "write it with external data");
        }
    }

    static void writeProto(ModelProto m, OutputStream out) throws IOException {
        CodedOutputStream cos = CodedOutputStream.newInstance(out, 1 << 16);
        m.writeTo(cos);
        cos.flush();
    }

    /** The serialized model (all data inline). */
    public byte[] toBytes() {
        checkSize(proto, Path.of("<bytes>"));
        return proto.toByteArray();
    }

    /** The underlying protobuf message. */
    public ModelProto proto() {
        return proto;
    }

    /** An editable view of the main graph. */
    public Graph graph() {
        return Graph.fromProto(proto.getGraph());
    }

    /** This model with its main graph replaced. */
    public OnnxModel withGraph(Graph graph) {
        return withGraph(graph.toProto());
    }

    /** This model with its main graph replaced. */
    public OnnxModel withGraph(GraphProto graph) {
        return new OnnxModel(proto.toBuilder().setGraph(graph).build());
    }

    /** The IR version. */
    public long irVersion() {
        return proto.getIrVersion();
    }

    /**
     * The imported opset version of {@code domain} ("" and "ai.onnx" both mean the default domain), or 0 when
     * the model does not import it.
     */
    public int opsetVersion(String domain) {
        boolean dflt = isDefaultDomain(domain);
        long best = 0;
        for (OperatorSetIdProto o : proto.getOpsetImportList()) {
            if (dflt ? isDefaultDomain(o.getDomain()) : o.getDomain().equals(domain)) {
                best = Math.max(best, o.getVersion());
            }
        }
        return Math.toIntExact(best);
    }

    /** Whether any tensor still refers to external data (only possible for {@link #parse}d models). */
    public boolean hasExternalData() {
        return ExternalData.hasExternal(proto);
    }

    /** Whether {@code domain} names the default ONNX domain ("", null or "ai.onnx"). */
    public static boolean isDefaultDomain(String domain) {
        return domain == null || domain.isEmpty() || domain.equals(AI_ONNX);
    }

    @Override
    public String toString() {
        return "OnnxModel(ir " + irVersion() + ", opset " + opsetVersion("") + ", graph '"
                + proto.getGraph().getName() + "', " + proto.getGraph().getNodeCount() + " nodes)";
    }
}
