package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.TestModels;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bundled model in ONNX Runtime reproduces PyTorch's logits and greedy tokens (models/rectify-tiny/recipe/reference.json). */
class TorchReferenceTest {
    private static JsonNode reference() throws Exception {
        return new ObjectMapper()
                .readTree(TestModels.tinyDir().resolve("recipe/reference.json").toFile());
    }

    private static long[] longs(JsonNode arr) {
        long[] out = new long[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asLong();
        }
        return out;
    }

    private static float[] lastLogits(BaseModel m, long[] ids, long[] mask, long[] pos, int rows) {
        int len = ids.length / rows;
        try (Tensor in = Tensor.ofLongs(ids, rows, len);
                Tensor am = Tensor.ofLongs(mask, rows, len);
                Tensor p = Tensor.ofLongs(pos, rows, len);
                Outputs o = m.fullSession()
                        .run(Map.of("input_ids", in, "attention_mask", am, "position_ids", p), List.of("logits"))) {
            float[] all = o.get("logits").toFloats();
            int v = (int) o.get("logits").dim(2);
            float[] out = new float[rows * v];
            for (int r = 0; r < rows; r++) {
                System.arraycopy(all, (r * len + len - 1) * v, out, r * v, v);
            }
            return out;
        }
    }

    private static void assertClose(JsonNode expected, float[] got, int offset, String what) {
        double max = 0;
        for (int i = 0; i < expected.size(); i++) {
            max = Math.max(max, Math.abs(expected.get(i).asDouble() - got[offset + i]));
        }
        assertTrue(max <= 1e-4, what + ": max |ORT - torch| = " + max);
    }

    @Test
    void logitsAndGreedyTokensMatchPyTorch() throws Exception {
        BaseModel m = TestModels.tiny();
        for (JsonNode p : reference().path("prompts")) {
            long[] ids = longs(p.path("input_ids"));
            long[] mask = new long[ids.length];
            long[] pos = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                mask[i] = 1;
                pos[i] = i;
            }
            assertClose(
                    p.path("last_logits"),
                    lastLogits(m, ids, mask, pos, 1),
                    0,
                    p.path("text").asText());
            Generation g = m.generator()
                    .generate(
                            List.of(ids),
                            Sampling.greedy().maxNewTokens(8).stopAtEos(false),
                            TokenListener.none(),
                            null)
                    .get(0);
            assertArrayEquals(
                    longs(p.path("greedy_8")), g.tokenIds(), p.path("text").asText());
        }
    }

    @Test
    void leftPaddedBatchMatchesPyTorch() throws Exception {
        BaseModel m = TestModels.tiny();
        JsonNode b = reference().path("left_padded_batch");
        int rows = b.path("input_ids").size();
        long[] ids = flatten(b.path("input_ids"));
        float[] got = lastLogits(m, ids, flatten(b.path("attention_mask")), flatten(b.path("position_ids")), rows);
        int v = got.length / rows;
        for (int r = 0; r < rows; r++) {
            assertClose(b.path("last_logits").get(r), got, r * v, "row " + r);
        }
    }

    private static long[] flatten(JsonNode rows) {
        int c = rows.get(0).size();
        long[] out = new long[rows.size() * c];
        for (int r = 0; r < rows.size(); r++) {
            for (int j = 0; j < c; j++) {
                out[r * c + j] = rows.get(r).get(j).asLong();
            }
        }
        return out;
    }
}
