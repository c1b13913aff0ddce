package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.Device;
import dev.rectify.ort.OptimizationLevel;
import dev.rectify.ort.SessionOptimizerExport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A folder whose graphs ONNX Runtime's session optimizer rewrote (fused {@code com.microsoft} ops, same inputs and
 * outputs) loads and generates the bundled model's tokens.
 */
class SessionOptimizedModelTest {
    @Test
    void sessionOptimizedExportGeneratesTheOriginalsTokens(@TempDir Path dir) throws Exception {
        Path tiny = TestModels.tinyDir();
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "config.json", "generation_config.json")) {
            Files.copy(tiny.resolve(f), dir.resolve(f));
        }
        for (String f : List.of("model.onnx", "model_with_past.onnx")) {
            SessionOptimizerExport.write(tiny.resolve(f), dir.resolve(f), OptimizationLevel.EXTENDED);
        }
        Set<String> fused = OnnxModel.read(dir.resolve("model_with_past.onnx")).graph().nodes().stream()
                .filter(n -> n.domain().equals(OnnxModel.MICROSOFT))
                .map(Node::opType)
                .collect(Collectors.toSet());
        assertTrue(!fused.isEmpty(), "the optimizer fused nothing");
        System.out.println("session-optimized rectify-tiny fused ops: " + fused);
        Sampling greedy = Sampling.greedy().maxNewTokens(24).stopAtEos(false);
        List<String> prompts = List.of("Question: What is 23 + 48?\nAnswer:", "Seven is");
        try (BaseModel m = BaseModel.open(dir, Device.cpu(1))) {
            assertTrue(m.generator().usesKvCache());
            for (String p : prompts) {
                Generation expected = TestModels.tiny().generate(p, greedy);
                Generation kv = m.generate(p, greedy);
                Generation re = m.recomputeGenerator()
                        .generate(List.of(m.encodePrompt(p)), greedy, TokenListener.none(), null)
                        .get(0);
                assertArrayEquals(expected.tokenIds(), kv.tokenIds(), p);
                assertArrayEquals(expected.tokenIds(), re.tokenIds(), p);
                assertEquals(expected.text(), kv.text());
            }
        }
    }
}
