package dev.rectify.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LazyWeights: graph-only reads (inline and external weights stay on disk) and writes sharing one data file. */
class LazyWeightsTest {
    @TempDir
    Path dir;

    private static final long W_BYTES = 8 * 600 * 4;

    @Test
    void inlineWeightsStayOnDiskAndAreCopiedOnceForTwoModels() throws IOException {
        Path base = dir.resolve("base.onnx");
        OnnxModelTest.linearModel().write(base);
        OnnxModel lazy = LazyWeights.open(base);
        TensorProto w = lazy.graph().initializer("W").orElseThrow();
        assertTrue(ExternalData.isExternal(w), "the 19200-byte W is a reference, not data");
        assertFalse(w.hasRawData());
        assertFalse(
                ExternalData.isExternal(lazy.graph().initializer("shape").orElseThrow()), "small tensors stay inline");
        assertArrayEquals(
                Tensors.toFloatArray(
                        OnnxModel.read(base).graph().initializer("W").orElseThrow()),
                Tensors.toFloatArray(LazyWeights.load(w)));

        Path out = dir.resolve("out");
        Map<Path, OnnxModel> models = new LinkedHashMap<>();
        models.put(out.resolve("a.onnx"), lazy);
        models.put(out.resolve("b.onnx"), lazy);
        LazyWeights.write(models, "shared.data", 1024);
        long size = Files.size(out.resolve("shared.data"));
        assertTrue(size >= W_BYTES && size < 2 * W_BYTES, "W written once, got " + size + " bytes");
        for (String f : new String[] {"a.onnx", "b.onnx"}) {
            OnnxModel back = OnnxModel.read(out.resolve(f));
            assertEquals(
                    OnnxModel.read(base).graph().initializers().get("W"),
                    back.graph().initializers().get("W"));
            assertEquals(
                    OnnxModel.read(base).graph().initializers().get("b"),
                    back.graph().initializers().get("b"));
        }
    }

    @Test
    void externalWeightsAreCopiedFileToFile() throws IOException {
        Path base = dir.resolve("ext/base.onnx");
        Files.createDirectories(base.getParent());
        OnnxModelTest.linearModel().write(base, "base.onnx.data", 1024);
        OnnxModel lazy = LazyWeights.open(base);
        Path out = dir.resolve("out2/m.onnx");
        LazyWeights.write(Map.of(out, lazy), "w.data", 1024);
        assertEquals(
                OnnxModel.read(base).graph().initializers(),
                OnnxModel.read(out).graph().initializers());
    }

    @Test
    void referencesOutsideTheModelFolderAreRefused() throws IOException {
        Path base = dir.resolve("ext/base.onnx");
        Files.createDirectories(base.getParent());
        OnnxModelTest.linearModel().write(base, "base.onnx.data", 1024);
        Files.delete(dir.resolve("ext/base.onnx.data"));
        ExternalDataException e = assertThrows(ExternalDataException.class, () -> LazyWeights.open(base));
        assertTrue(e.getMessage().contains("'W'") && e.getMessage().contains("does not exist"), e.getMessage());
    }
}
