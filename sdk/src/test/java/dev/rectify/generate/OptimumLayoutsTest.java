package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.ModelFormatException;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The folder layouts Optimum writes, made from the bundled model's two graphs (which use Optimum's names): the
 * KV-cache export as the only {@code model.onnx} (Optimum's default), and the split
 * {@code decoder_model.onnx} + {@code decoder_with_past_model.onnx}. Both generate the bundled model's tokens.
 */
class OptimumLayoutsTest {
    private static final List<String> PROMPTS = List.of("Question: What is 23 + 48?\nAnswer:", "Seven is");

    private static Path folder(Path dir, String noPast, String withPast) throws Exception {
        Path tiny = TestModels.tinyDir();
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "config.json", "generation_config.json")) {
            Files.copy(tiny.resolve(f), dir.resolve(f));
        }
        if (noPast != null) {
            Files.copy(tiny.resolve("model.onnx"), dir.resolve(noPast));
        }
        Files.copy(tiny.resolve("model_with_past.onnx"), dir.resolve(withPast));
        return dir;
    }

    private static void assertGeneratesLikeTheBundledModel(BaseModel m) {
        Sampling greedy = Sampling.greedy().maxNewTokens(20).stopAtEos(false);
        List<long[]> ids = PROMPTS.stream().map(m::encodePrompt).toList();
        List<Generation> kv = m.generator().generate(ids, greedy, TokenListener.none(), null);
        List<Generation> re = m.recomputeGenerator().generate(ids, greedy, TokenListener.none(), null);
        List<Generation> expected = TestModels.tiny().generator().generate(ids, greedy, TokenListener.none(), null);
        for (int i = 0; i < ids.size(); i++) {
            assertArrayEquals(expected.get(i).tokenIds(), kv.get(i).tokenIds(), PROMPTS.get(i));
            assertArrayEquals(expected.get(i).tokenIds(), re.get(i).tokenIds(), PROMPTS.get(i));
        }
    }

    @Test
    void kvExportAsTheOnlyModelOnnx(@TempDir Path dir) throws Exception {
        try (BaseModel m = BaseModel.open(folder(dir, null, "model.onnx"), Device.cpu(1))) {
            assertTrue(m.generator().usesKvCache());
            assertEquals(m.decodeSession(), m.fullSession(), "one graph: recomputation feeds it an empty cache");
            assertGeneratesLikeTheBundledModel(m);
        }
    }

    @Test
    void splitDecoderAndDecoderWithPast(@TempDir Path dir) throws Exception {
        try (BaseModel m =
                BaseModel.open(folder(dir, "decoder_model.onnx", "decoder_with_past_model.onnx"), Device.cpu(1))) {
            assertEquals(dir.resolve("decoder_model.onnx"), m.modelFile());
            assertTrue(m.generator().usesKvCache());
            assertGeneratesLikeTheBundledModel(m);
        }
    }

    @Test
    void mergedDecoderIsATypedError(@TempDir Path dir) throws Exception {
        folder(dir, null, "decoder_model_merged.onnx");
        var e = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(
                e.getMessage().contains("decoder_model_merged.onnx")
                        && e.getMessage().contains("--no-post-process"),
                e.getMessage());
    }
}
