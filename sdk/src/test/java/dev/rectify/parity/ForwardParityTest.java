package dev.rectify.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The Llama- and GPT-2-style fixtures run in ONNX Runtime give PyTorch's logits. */
class ForwardParityTest {
    @ParameterizedTest
    @ValueSource(strings = {"llama", "gpt2"})
    void logitsMatchPyTorch(String name) {
        ParityFixture f = ParityFixture.load(name);
        long[] shape = f.batchShape();
        float[] expected = f.floats(f.json().path("logits"));
        try (InferenceSession s = InferenceSession.open(
                        f.model(), SessionConfig.builder().intraOpThreads(1).build());
                Tensor ids = Tensor.ofLongs(f.batch("input_ids"), shape);
                Tensor mask = Tensor.ofLongs(f.batch("attention_mask"), shape);
                Tensor pos = Tensor.ofLongs(f.batch("position_ids"), shape);
                Outputs o = s.run(
                        Map.of("input_ids", ids, "attention_mask", mask, "position_ids", pos), List.of("logits"))) {
            float[] got = o.get("logits").toFloats();
            assertEquals(expected.length, got.length);
            double max = 0;
            for (int i = 0; i < got.length; i++) {
                max = Math.max(max, Math.abs(got[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
            }
            assertTrue(max < 1e-4, name + ": max relative logit difference " + max);
        }
    }
}
