package dev.rectify.onnx;

import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxModelTest {
    @TempDir
    Path dir;

    static float[] seq(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = i * 0.5f - 3;
        }
        return f;
    }

    /** y = Softmax(x @ W + b), with a big W (8x600 floats = 19200 bytes) and a small b. */
    static OnnxModel linearModel() {
        GraphBuilder g = GraphBuilder.create("linear")
                .input("x", FLOAT, "batch", 8)
                .output("y", FLOAT, "batch", 600)
                .initializer(Tensors.ofFloats("W", seq(8 * 600), 8, 600))
                .initializer(Tensors.ofFloats("b", seq(600), 600))
                .initializer(Tensors.ofLongs("shape", new long[] {-1, 600}, 2));
        String xw = g.op("MatMul", "x", "W");
        String z = g.op("Add", xw, "b");
        g.node("Softmax", List.of(z), List.of("y")).attr("axis", -1L);
        return ModelBuilder.create()
                .opset("", 17)
                .opset(OnnxModel.MICROSOFT, 1)
                .metadata("k", "v")
                .graph(g)
                .build();
    }

    private List<String> listDir() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void inlineRoundTrip() throws IOException {
        OnnxModel m = linearModel();
        Path f = dir.resolve("model.onnx");
        m.write(f);
        assertEquals(List.of("model.onnx"), listDir(), "no temporary files left");
        OnnxModel back = OnnxModel.read(f);
        assertEquals(m.proto(), back.proto());
        assertEquals(8, back.irVersion());
        assertEquals(17, back.opsetVersion(""));
        assertEquals(17, back.opsetVersion("ai.onnx"));
        assertEquals(1, back.opsetVersion("com.microsoft"));
        assertEquals(0, back.opsetVersion("ai.onnx.ml"));
        assertArrayEquals(m.toBytes(), Files.readAllBytes(f));
        assertEquals(m.proto(), OnnxModel.parse(m.toBytes()).proto());
        // Overwrite in place: still one file.
        back.write(f);
        assertEquals(List.of("model.onnx"), listDir());
    }

    @Test
    void externalDataRoundTrip() throws IOException {
        OnnxModel m = linearModel();
        Path f = dir.resolve("model.onnx");
        m.write(f, "model.onnx.data", 1024);
        assertEquals(List.of("model.onnx", "model.onnx.data"), listDir(), "no temporary files left");

        OnnxModel raw = OnnxModel.parse(Files.readAllBytes(f));
        assertTrue(raw.hasExternalData());
        TensorProto w = raw.graph().initializer("W").orElseThrow();
        assertEquals(TensorProto.DataLocation.EXTERNAL, w.getDataLocation());
        assertFalse(w.hasRawData());
        assertEquals("model.onnx.data", entry(w, "location"));
        assertEquals(0, Long.parseLong(entry(w, "offset")) % 4096);
        assertEquals(8 * 600 * 4, Long.parseLong(entry(w, "length")));
        TensorProto b = raw.graph().initializer("b").orElseThrow();
        assertEquals(0, Long.parseLong(entry(b, "offset")) % 4096);
        assertEquals(TensorProto.DataLocation.EXTERNAL, b.getDataLocation(), "2400 bytes >= 1024 threshold");
        assertTrue(raw.graph().initializer("shape").orElseThrow().hasRawData(), "16 bytes stay inline");
        assertThrows(
                InvalidArgumentException.class,
                () -> raw.write(dir.resolve("other.onnx")),
                "unresolved external data cannot be written");

        OnnxModel back = OnnxModel.read(f);
        assertFalse(back.hasExternalData());
        assertEquals(m.proto(), back.proto());

        // Rewrite the loaded model over the same files, then inline.
        back.write(f, "model.onnx.data", 1024);
        assertEquals(m.proto(), OnnxModel.read(f).proto());
        back.write(f);
        assertEquals(m.proto(), OnnxModel.read(f).proto());
    }

    private static String entry(TensorProto t, String key) {
        return t.getExternalDataList().stream()
                .filter(e -> e.getKey().equals(key))
                .findFirst()
                .orElseThrow()
                .getValue();
    }

    /** A model whose initializers point into weights.bin at hand-chosen offsets, one without a length. */
    private Path handWrittenExternal(String location, long offsetA, long offsetB, boolean withLength)
            throws IOException {
        float[] a = {1, 2, 3, 4};
        long[] bv = {7, -8};
        ByteBuffer buf = ByteBuffer.allocate((int) offsetB + 16).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < a.length; i++) buf.putFloat((int) offsetA + 4 * i, a[i]);
        for (int i = 0; i < bv.length; i++) buf.putLong((int) offsetB + 8 * i, bv[i]);
        Files.write(dir.resolve("weights.bin"), buf.array());
        TensorProto ta = external("A", FLOAT.getNumber(), List.of(2L, 2L), location, offsetA, withLength ? 16 : -1);
        TensorProto tb = external("B", INT64.getNumber(), List.of(2L), location, offsetB, 16);
        OnnxModel m = ModelBuilder.create()
                .graph(GraphBuilder.create("g").initializer(ta).initializer(tb).output("A", FLOAT, 2, 2))
                .build();
        Path f = dir.resolve("hand.onnx");
        Files.write(f, m.proto().toByteArray());
        return f;
    }

    private static TensorProto external(String name, int type, List<Long> dims, String loc, long offset, long length) {
        TensorProto.Builder t = TensorProto.newBuilder()
                .setName(name)
                .setDataType(type)
                .addAllDims(dims)
                .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(
                        StringStringEntryProto.newBuilder().setKey("location").setValue(loc))
                .addExternalData(
                        StringStringEntryProto.newBuilder().setKey("offset").setValue(Long.toString(offset)));
        if (length >= 0) {
            t.addExternalData(
                    StringStringEntryProto.newBuilder().setKey("length").setValue(Long.toString(length)));
        }
        return t.build();
    }

    @Test
    void readsExternalDataAtOffsets() throws IOException {
        Path f = handWrittenExternal("weights.bin", 12, 100, false);
        OnnxModel m = OnnxModel.read(f);
        assertFalse(m.hasExternalData());
        assertArrayEquals(
                new float[] {1, 2, 3, 4},
                Tensors.toFloatArray(m.graph().initializer("A").orElseThrow()));
        assertArrayEquals(
                new long[] {7, -8},
                Tensors.toLongArray(m.graph().initializer("B").orElseThrow()));
        // Also through a "./" location.
        assertArrayEquals(
                new long[] {7, -8},
                Tensors.toLongArray(OnnxModel.read(handWrittenExternal("./weights.bin", 0, 64, true))
                        .graph()
                        .initializer("B")
                        .orElseThrow()));
    }

    @Test
    void missingExternalFileNamesTensorAndFile() throws IOException {
        Path f = handWrittenExternal("nope.bin", 0, 16, true);
        ExternalDataException e = assertThrows(ExternalDataException.class, () -> OnnxModel.read(f));
        assertTrue(e.getMessage().contains("'A'"), e.getMessage());
        assertTrue(e.getMessage().contains("nope.bin"), e.getMessage());
    }

    @Test
    void shortReadNamesTensorAndFile() throws IOException {
        Path f = handWrittenExternal("weights.bin", 0, 16, true);
        Files.write(dir.resolve("weights.bin"), new byte[20]); // B needs bytes [16, 32)
        ExternalDataException e = assertThrows(ExternalDataException.class, () -> OnnxModel.read(f));
        assertTrue(
                e.getMessage().contains("'B'")
                        && e.getMessage().contains("weights.bin")
                        && e.getMessage().contains("short read"),
                e.getMessage());
    }

    @Test
    void externalDataOutsideFolderRefused() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Files.write(dir.resolve("secret.bin"), new byte[64]);
        for (String loc : List.of("../secret.bin", dir.resolve("secret.bin").toString(), "a/../../secret.bin")) {
            TensorProto t = external("A", FLOAT.getNumber(), List.of(4L), loc, 0, 16);
            Path f = sub.resolve("m.onnx");
            Files.write(
                    f,
                    ModelBuilder.create()
                            .graph(GraphBuilder.create("g").initializer(t))
                            .build()
                            .proto()
                            .toByteArray());
            ExternalDataException e = assertThrows(ExternalDataException.class, () -> OnnxModel.read(f), loc);
            assertTrue(e.getMessage().contains("outside"), e.getMessage());
        }
    }

    @Test
    void corruptFileNamesTheFile() throws IOException {
        Path f = dir.resolve("broken.onnx");
        Files.write(f, new byte[] {0x0A, (byte) 0xFF, (byte) 0xFF, 0x7F, 0x01, 0x02});
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> OnnxModel.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());

        Path empty = dir.resolve("empty.onnx");
        Files.write(empty, new byte[0]);
        assertTrue(assertThrows(ModelFormatException.class, () -> OnnxModel.read(empty))
                .getMessage()
                .contains("empty.onnx"));

        Path missing = dir.resolve("missing.onnx");
        ModelFormatException e2 = assertThrows(ModelFormatException.class, () -> OnnxModel.read(missing));
        assertTrue(e2.getMessage().contains("missing.onnx") && e2.getMessage().contains("no such file"));
    }

    @Test
    void badExternalDataFileNameRejectedBeforeWriting() throws IOException {
        OnnxModel m = linearModel();
        assertThrows(InvalidArgumentException.class, () -> m.write(dir.resolve("m.onnx"), "../x.data", 0));
        assertThrows(InvalidArgumentException.class, () -> m.write(dir.resolve("m.onnx"), "m.onnx", 0));
        assertEquals(List.of(), listDir());
    }

    @Test
    void unknownFieldsSurvive() {
        ModelProto p = linearModel().proto().toBuilder()
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(
                                26,
                                UnknownFieldSet.Field.newBuilder()
                                        .addLengthDelimited(ByteString.copyFromUtf8("cfg"))
                                        .build())
                        .build())
                .build();
        OnnxModel back = OnnxModel.parse(p.toByteArray());
        assertEquals(p, back.proto());
        assertEquals(p, back.withGraph(back.graph()).proto());
    }
}
