package dev.rectify.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.generate.Sampling;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad model folders: each a typed error naming the file and what is wrong. */
class BaseModelErrorsTest {
    private static Path copyTokenizer(Path dir) throws Exception {
        Files.copy(TestModels.tinyDir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        return dir;
    }

    @Test
    void missingFolderOrModelFile(@TempDir Path dir) throws Exception {
        var e = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir.resolve("nowhere")));
        assertTrue(e.getMessage().contains("nowhere"), e.getMessage());
        copyTokenizer(dir);
        var e2 = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(e2.getMessage().contains("model.onnx"), e2.getMessage());
    }

    @Test
    void missingTokenizer(@TempDir Path dir) throws Exception {
        Files.copy(TestModels.tinyDir().resolve("model.onnx"), dir.resolve("model.onnx"));
        var e = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    }

    @Test
    void corruptTokenizer(@TempDir Path dir) throws Exception {
        Files.copy(TestModels.tinyDir().resolve("model.onnx"), dir.resolve("model.onnx"));
        Files.writeString(dir.resolve("tokenizer.json"), "{\"version\": \"1.0\", \"truncated");
        var e = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
    }

    @Test
    void corruptModel(@TempDir Path dir) throws Exception {
        copyTokenizer(dir);
        byte[] good = Files.readAllBytes(TestModels.tinyDir().resolve("model.onnx"));
        Files.write(dir.resolve("model.onnx"), Arrays.copyOf(good, good.length / 3));
        var e = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(e.getMessage().contains("model.onnx"), e.getMessage());
    }

    @Test
    void graphWithoutInputIdsOrLogits(@TempDir Path dir) throws Exception {
        copyTokenizer(dir);
        GraphBuilder g = GraphBuilder.create("notlm")
                .input("tokens", DataType.INT64, "b", "s")
                .output("out", DataType.INT64, "b", "s");
        g.node("Identity", List.of("tokens"), List.of("out"));
        ModelBuilder.create().graph(g).build().write(dir.resolve("model.onnx"));
        var e = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(e.getMessage().contains("input_ids") && e.getMessage().contains("tokens"), e.getMessage());

        GraphBuilder h = GraphBuilder.create("nologits")
                .input("input_ids", DataType.INT64, "b", "s")
                .output("hidden", DataType.INT64, "b", "s");
        h.node("Identity", List.of("input_ids"), List.of("hidden"));
        ModelBuilder.create().graph(h).build().write(dir.resolve("model.onnx"));
        var e2 = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(e2.getMessage().contains("logits") && e2.getMessage().contains("hidden"), e2.getMessage());
    }

    @Test
    void chatWithoutTemplateIsATypedError(@TempDir Path dir) throws Exception {
        copyTokenizer(dir);
        Files.copy(TestModels.tinyDir().resolve("model.onnx"), dir.resolve("model.onnx"));
        try (BaseModel m = BaseModel.open(dir, Device.cpu(1))) {
            // no model_with_past.onnx: falls back to recomputation, still generates
            assertTrue(!m.generator().usesKvCache());
            assertTrue(m.generate("Seven is", Sampling.greedy().maxNewTokens(4)).completionTokens() > 0);
            var e = assertThrows(
                    ModelFormatException.class, () -> m.applyChatTemplate(List.of(ChatMessage.user("hi")), true));
            assertTrue(e.getMessage().contains("chat_template"), e.getMessage());
        }
    }

    @Test
    void badDeviceSpec() {
        assertEquals("cpu:3", Device.parse("cpu:3").toString());
        assertThrows(InvalidArgumentException.class, () -> Device.parse("tpu"));
    }
}
