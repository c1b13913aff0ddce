package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.WildModels;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The two published exports in shared/models/wild load, decode with their KV cache exactly as recomputation does
 * (within float16), sample reproducibly and score tokens, in their own precision and conventions.
 */
class WildModelsTest {
    /** Text whose GPT-2 tokens all lie in the tiny model's 1000-token vocabulary (its tokenizer has 50257). */
    static final String GPT2_TEXT = "The one and the two of the new time, which was in the";

    private static BaseModel gpt2;
    private static BaseModel llama;

    @BeforeAll
    static void open() {
        gpt2 = BaseModel.open(WildModels.gpt2(), Device.cpu(2));
        llama = BaseModel.open(WildModels.llama(), Device.cpu(2));
    }

    @AfterAll
    static void close() {
        gpt2.close();
        llama.close();
    }

    @Test
    void ortOptimizerGpt2LoadsWithItsConventions() {
        assertEquals(WildModels.gpt2().resolve("past.onnx"), gpt2.modelFile());
        CausalLmSignature sig = CausalLmSignature.of(gpt2.decodeSession(), gpt2.config());
        assertEquals(ElementType.INT32, sig.idType());
        assertEquals(ElementType.INT32, sig.maskType());
        assertEquals(ElementType.INT32, sig.positionType());
        assertEquals(ElementType.FLOAT16, sig.kvType());
        assertEquals(ElementType.FLOAT16, sig.logitsType());
        assertTrue(sig.stackedKv());
        assertEquals(5, sig.layers());
        assertEquals(4, sig.kvHeads());
        assertEquals(8, sig.headDim());
        assertEquals(
                List.of("present_0", "present_1", "present_2", "present_3", "present_4"), sig.presentStackedNames());
        assertEquals(512, gpt2.contextLength());
        assertEquals(1000, gpt2.config().vocabSize()); // only in config.json's GenAI "model" block
        assertTrue(gpt2.eosTokenIds().contains(98L));
        assertTrue(gpt2.generator().usesKvCache());
        assertFalse(gpt2.recomputeGenerator().usesKvCache());
        assertTrue(gpt2.contentHash().matches("[0-9a-f]{64}"));
    }

    @Test
    void genaiLlamaLoadsWithItsConventions() {
        assertEquals(WildModels.llama().resolve("model.onnx"), llama.modelFile());
        CausalLmSignature sig = CausalLmSignature.of(llama.decodeSession(), llama.config());
        assertEquals(ElementType.INT64, sig.idType());
        assertEquals(ElementType.FLOAT16, sig.kvType());
        assertEquals(ElementType.FLOAT16, sig.logitsType());
        assertFalse(sig.stackedKv());
        assertEquals(2, sig.layers());
        assertEquals(1, sig.kvHeads());
        assertEquals(16, sig.headDim());
        assertEquals(List.of("present.0.key", "present.1.key"), sig.presentKeyNames());
        assertEquals(2048, llama.contextLength()); // genai_config.json context_length
        assertEquals(32000, llama.config().vocabSize());
        assertEquals(2, llama.padTokenId());
        assertTrue(
                llama.eosTokenIds().containsAll(List.of(1L, 2L)),
                llama.eosTokenIds().toString());
        // add_bos_token: the tokenizer's <s> (id 1) starts a raw prompt, and is not doubled before a chat render
        long[] raw = llama.encodePrompt("Hello world");
        assertEquals(1, raw[0]);
        assertArrayEquals(llama.tokenizer().encode("Hello world"), Arrays.copyOfRange(raw, 1, raw.length));
        long[] chat = llama.encodePrompt("<s>[INST] Hi [/INST]");
        assertEquals(1, chat[0]);
        assertNotEquals(1, chat[1]);
        assertTrue(llama.generator().usesKvCache());
    }

    @Test
    void gpt2KvCacheLogitsEqualRecomputedLogitsInFloat16() {
        assertKvEqualsRecompute(gpt2, GPT2_TEXT, 4);
    }

    @Test
    void llamaKvCacheLogitsEqualRecomputedLogitsInFloat16() {
        assertKvEqualsRecompute(llama, "The quick brown fox jumps over the lazy dog and runs", 4);
    }

    @Test
    void greedyKvDecodingEqualsRecomputationOnBoth() {
        for (BaseModel m : List.of(gpt2, llama)) {
            List<long[]> prompts = List.of(
                    m.encodePrompt(m == gpt2 ? "The one and" : "Once upon a time"),
                    m.encodePrompt(m == gpt2 ? GPT2_TEXT : "Hello, my name is Sam and"));
            Sampling s = Sampling.greedy().maxNewTokens(24).stopAtEos(false);
            List<Generation> kv = m.generator().generate(prompts, s, TokenListener.none(), null);
            List<Generation> re = m.recomputeGenerator().generate(prompts, s, TokenListener.none(), null);
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(24, kv.get(i).tokenIds().length, m.directory() + " prompt " + i);
                assertArrayEquals(re.get(i).tokenIds(), kv.get(i).tokenIds(), m.directory() + " prompt " + i);
            }
            // one prompt alone decodes as it does in the left-padded batch
            Generation alone = m.generator()
                    .generate(List.of(prompts.get(0)), s, TokenListener.none(), null)
                    .get(0);
            assertArrayEquals(
                    alone.tokenIds(), kv.get(0).tokenIds(), m.directory().toString());
        }
    }

    @Test
    void seededSamplingIsReproducibleAndSeedDependent() {
        for (BaseModel m : List.of(gpt2, llama)) {
            Sampling s = Sampling.sample(1.0).topK(200).maxNewTokens(16).stopAtEos(false);
            String prompt = m == gpt2 ? "The one and" : "In the beginning";
            Generation a = m.generate(prompt, s.seed(11));
            Generation b = m.generate(prompt, s.seed(11));
            Generation c = m.generate(prompt, s.seed(12));
            assertArrayEquals(a.tokenIds(), b.tokenIds(), m.directory().toString());
            assertEquals(a.text(), b.text());
            assertFalse(
                    Arrays.equals(a.tokenIds(), c.tokenIds()), m.directory() + ": seeds 11 and 12 sampled the same");
            Generation greedy =
                    m.generate(prompt, Sampling.greedy().maxNewTokens(16).stopAtEos(false));
            assertFalse(
                    Arrays.equals(a.tokenIds(), greedy.tokenIds()),
                    m.directory() + ": sampling gave the greedy tokens");
        }
    }

    @Test
    void tokenScorerMatchesTheModelsOwnProbabilities() {
        for (BaseModel m : List.of(gpt2, llama)) {
            long[] ids = m.encodePrompt(m == gpt2 ? GPT2_TEXT : "Seven is a number between six and eight");
            boolean[] target = new boolean[ids.length];
            Arrays.fill(target, 1, ids.length, true);
            long[] shorter = Arrays.copyOf(ids, ids.length - 3);
            List<TokenScorer.Scores> both = new TokenScorer(
                            m.decodeSession(), CausalLmSignature.of(m.decodeSession(), m.config()), m.padTokenId())
                    .score(
                            List.of(ids, shorter),
                            List.of(target, Arrays.copyOf(target, shorter.length)),
                            4); // one right-padded batch
            TokenScorer.Scores sc = both.get(0);
            for (int t = 0; t < shorter.length - 1; t++) {
                double p = sc.probabilities()[t];
                assertEquals(
                        p, both.get(1).probabilities()[t], 2e-3 * p, m.directory() + ": padding changed token " + t);
            }
            float[][] logits = stepwiseLogits(m, ids, 3);
            assertEquals(ids.length - 1, sc.probabilities().length);
            for (int t = 1; t < ids.length; t++) {
                double p = softmax(logits[t - 1], (int) ids[t]);
                assertEquals(p, sc.probabilities()[t - 1], 2e-3 * p + 1e-7, m.directory() + " token " + t);
            }
            assertTrue(sc.nllSum() > 0 && Double.isFinite(sc.nllSum()));
        }
        // the tiny GPT-2's tokenizer eos (<|endoftext|>, 50256) lies outside its 1000-token embedding: eval's entry
        // point
        // ends completions with the configuration's eos (98) instead, and text outside the vocabulary is a typed error
        var ok = gpt2.score(List.of(Example.of("The one and the", " two of the new")));
        assertEquals(
                gpt2.exampleEncoder(64)
                        .encode(0, Example.of("The one and the", " two of the new"))
                        .targetCount(),
                ok.get(0).probabilities().length);
        long[] encoded = gpt2.exampleEncoder(64)
                .encode(0, Example.of("The one and the", " two of the new"))
                .ids();
        assertEquals(98L, encoded[encoded.length - 1], "the configuration's eos ends the completion");
        var e = Assertions.assertThrows(
                InvalidArgumentException.class,
                () -> gpt2.score(List.of(Example.of("The one and the", " Photosynthesis"))));
        assertTrue(
                e.getMessage().contains("example 0") && e.getMessage().contains("vocabulary of 1000"), e.getMessage());
    }

    @Test
    void promptTokensOutsideTheModelsVocabularyAreATypedError() {
        // the tiny GPT-2 ships the full 50257-token tokenizer over a 1000-token embedding
        var e = Assertions.assertThrows(
                InvalidArgumentException.class,
                () -> gpt2.generate("Photosynthesis", Sampling.greedy().maxNewTokens(2)));
        assertTrue(e.getMessage().contains("vocabulary of 1000"), e.getMessage());
    }

    @Test
    void generationConfigSamplingDefaults(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        assertTrue(ModelConfig.read(dir).generation().sampling().isGreedy());
        Files.writeString(
                dir.resolve("generation_config.json"),
                "{\"do_sample\": true, \"temperature\": 0.7, \"top_p\": 0.9, \"max_new_tokens\": 40}");
        Sampling s = ModelConfig.read(dir).generation().sampling();
        assertEquals(0.7, s.temperature());
        assertEquals(50, s.topK()); // transformers' default when sampling
        assertEquals(0.9, s.topP());
        assertEquals(40, s.maxNewTokens());
        Files.writeString(dir.resolve("generation_config.json"), "{\"do_sample\": false, \"temperature\": 0.7}");
        assertTrue(ModelConfig.read(dir).generation().sampling().isGreedy());
    }

    /**
     * Logits of every position: the prompt's first {@code prefix} tokens at once, then one token at a time with the
     * KV cache fed back as the graph returns it (float16, never converted).
     */
    static float[][] stepwiseLogits(BaseModel m, long[] ids, int prefix) {
        CausalLmSignature sig = CausalLmSignature.of(m.decodeSession(), m.config());
        float[][] out = new float[ids.length][];
        List<String> outs = new ArrayList<>(List.of(sig.names().logits()));
        try (KvCache cache = KvCache.empty(sig, 1)) {
            outs.addAll(cache.presentNames());
            int done = 0;
            while (done < ids.length) {
                int step = done == 0 ? prefix : 1;
                long[] chunk = Arrays.copyOfRange(ids, done, done + step);
                long[] mask = new long[done + step];
                Arrays.fill(mask, 1);
                long[] pos = new long[step];
                for (int i = 0; i < step; i++) {
                    pos[i] = done + i;
                }
                Map<String, Tensor> feeds = new HashMap<>();
                cache.feed(feeds);
                try (ModelInputs in = new ModelInputs(sig, feeds, 1, chunk, step, mask, done + step, pos);
                        Outputs o = m.decodeSession().run(feeds, outs)) {
                    Tensor logits = o.get(sig.names().logits());
                    assertEquals(sig.logitsType(), logits.type(), "logits come back in the graph's own type");
                    int v = (int) logits.dim(2);
                    for (int t = 0; t < step; t++) {
                        out[done + t] = new float[v];
                        logits.readFloats((long) t * v, out[done + t]);
                    }
                    cache.advance(o);
                }
                done += step;
            }
        }
        return out;
    }

    /** Logits of every position from one run over the whole sequence (empty KV cache). */
    static float[][] recomputedLogits(BaseModel m, long[] ids) {
        return stepwiseLogits(m, ids, ids.length);
    }

    private static void assertKvEqualsRecompute(BaseModel m, String text, int prefix) {
        long[] ids = m.encodePrompt(text);
        assertTrue(ids.length > prefix + 4);
        float[][] full = recomputedLogits(m, ids);
        float[][] kv = stepwiseLogits(m, ids, prefix);
        double maxDiff = 0;
        double maxAbs = 0;
        for (int t = 0; t < ids.length; t++) {
            for (int v = 0; v < full[t].length; v++) {
                maxDiff = Math.max(maxDiff, Math.abs(full[t][v] - kv[t][v]));
                maxAbs = Math.max(maxAbs, Math.abs(full[t][v]));
            }
            assertEquals(argmax(full[t]), argmax(kv[t]), m.directory() + ": greedy token differs at " + t);
        }
        assertTrue(maxAbs > 0, "logits are all zero");
        // float16 keeps 11 significant bits (unit roundoff 2^-11): allow 8 units in the last place of the largest logit
        double halfUlp = maxAbs * Math.pow(2, -10);
        assertTrue(
                maxDiff <= 8 * halfUlp,
                m.directory() + ": KV-cache logits differ from recomputation by " + maxDiff + " (max |logit| " + maxAbs
                        + ")");
        System.out.printf(
                "%s: KV vs recompute max |diff| %.3g, max |logit| %.3g, %d tokens%n",
                m.directory().getFileName(), maxDiff, maxAbs, ids.length);
    }

    private static int argmax(float[] row) {
        int a = 0;
        for (int i = 1; i < row.length; i++) {
            if (row[i] > row[a]) {
                a = i;
            }
        }
        return a;
    }

    private static double softmax(float[] row, int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (float x : row) {
            max = Math.max(max, x);
        }
        double sum = 0;
        for (float x : row) {
            sum += Math.exp(x - max);
        }
        return Math.exp(row[k] - max) / sum;
    }
}
