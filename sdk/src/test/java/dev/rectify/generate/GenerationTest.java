package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.ChatMessage;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Generation on the real bundled model. */
class GenerationTest {
    private static final List<String> PROMPTS = List.of(
            "Question: What is 23 + 48?\nAnswer:",
            "Seven is",
            "<|im_start|>user\nWhat is 5 + 7?<|im_end|>\n<|im_start|>assistant\n");

    @Test
    void kvCacheLogitsEqualRecomputedLogits() {
        BaseModel m = TestModels.tiny();
        long[] ids = m.tokenizer().encode("Question: What is 12 + 30?\nAnswer: 2 + 0 = 2");
        int n = ids.length;
        int prefix = 5;
        float[] full;
        int vocab;
        try (Tensor in = Tensor.ofLongs(ids, 1, n);
                Tensor mask = Tensor.ofLongs(ones(n), 1, n);
                Tensor pos = Tensor.ofLongs(range(0, n), 1, n);
                Outputs o = m.fullSession()
                        .run(Map.of("input_ids", in, "attention_mask", mask, "position_ids", pos), List.of("logits"))) {
            full = o.get("logits").toFloats();
            vocab = (int) o.get("logits").dim(2);
        }
        InferenceSession kv = m.decodeSession();
        CausalLmSignature sig = CausalLmSignature.of(kv, m.config());
        assertTrue(sig.hasKvCache());
        Map<String, Tensor> past = new HashMap<>();
        for (int l = 0; l < sig.layers(); l++) {
            past.put(sig.pastKeyNames().get(l), Tensor.zeros(ElementType.FLOAT, 1, sig.kvHeads(), 0, sig.headDim()));
            past.put(sig.pastValueNames().get(l), Tensor.zeros(ElementType.FLOAT, 1, sig.kvHeads(), 0, sig.headDim()));
        }
        List<String> outs = new ArrayList<>(List.of("logits"));
        outs.addAll(sig.presentKeyNames());
        outs.addAll(sig.presentValueNames());
        int done = 0;
        double maxDiff = 0;
        while (done < n) {
            int step = done == 0 ? prefix : 1;
            long[] chunk = Arrays.copyOfRange(ids, done, done + step);
            Map<String, Tensor> feeds = new HashMap<>(past);
            try (Tensor in = Tensor.ofLongs(chunk, 1, step);
                    Tensor mask = Tensor.ofLongs(ones(done + step), 1, done + step);
                    Tensor pos = Tensor.ofLongs(range(done, done + step), 1, step)) {
                feeds.put("input_ids", in);
                feeds.put("attention_mask", mask);
                feeds.put("position_ids", pos);
                try (Outputs o = kv.run(feeds, outs)) {
                    float[] logits = o.get("logits").toFloats();
                    for (int t = 0; t < step; t++) {
                        for (int v = 0; v < vocab; v++) {
                            maxDiff = Math.max(maxDiff, Math.abs(logits[t * vocab + v] - full[(done + t) * vocab + v]));
                        }
                    }
                    for (int l = 0; l < sig.layers(); l++) {
                        past.put(
                                sig.pastKeyNames().get(l),
                                swap(
                                        past.get(sig.pastKeyNames().get(l)),
                                        o.take(sig.presentKeyNames().get(l))));
                        past.put(
                                sig.pastValueNames().get(l),
                                swap(
                                        past.get(sig.pastValueNames().get(l)),
                                        o.take(sig.presentValueNames().get(l))));
                    }
                }
            }
            done += step;
        }
        past.values().forEach(Tensor::close);
        assertTrue(maxDiff <= 1e-4, "max |kv - full| logits = " + maxDiff);
    }

    private static Tensor swap(Tensor old, Tensor fresh) {
        old.close();
        return fresh;
    }

    @Test
    void kvCacheAndRecomputeGiveTheSameGreedyText() {
        BaseModel m = TestModels.tiny();
        Sampling s = Sampling.greedy().maxNewTokens(40);
        for (String p : PROMPTS) {
            long[] ids = m.tokenizer().encode(p);
            Generation a = m.generator()
                    .generate(List.of(ids), s, TokenListener.none(), null)
                    .get(0);
            Generation b = m.recomputeGenerator()
                    .generate(List.of(ids), s, TokenListener.none(), null)
                    .get(0);
            assertArrayEquals(a.tokenIds(), b.tokenIds(), "prompt: " + p);
            assertEquals(a.text(), b.text());
            assertTrue(a.completionTokens() > 0);
        }
    }

    @Test
    void batchGenerationEqualsOneByOne() {
        BaseModel m = TestModels.tiny();
        Sampling s = Sampling.greedy().maxNewTokens(32);
        List<Generation> batch = m.generate(PROMPTS, s, TokenListener.none());
        for (int i = 0; i < PROMPTS.size(); i++) {
            Generation one = m.generate(PROMPTS.get(i), s);
            assertArrayEquals(one.tokenIds(), batch.get(i).tokenIds(), "prompt " + i);
            assertEquals(one.text(), batch.get(i).text());
            assertEquals(one.finishReason(), batch.get(i).finishReason());
        }
        // recompute path batches too
        List<long[]> ids = PROMPTS.stream().map(m.tokenizer()::encode).toList();
        List<Generation> rb = m.recomputeGenerator().generate(ids, s, TokenListener.none(), null);
        for (int i = 0; i < PROMPTS.size(); i++) {
            assertArrayEquals(batch.get(i).tokenIds(), rb.get(i).tokenIds(), "recompute batch, prompt " + i);
        }
    }

    @Test
    void samplingWithASeedIsReproducible() {
        BaseModel m = TestModels.tiny();
        Sampling s = Sampling.sample(1.0).topP(0.95).seed(1234).maxNewTokens(40);
        Generation a = m.generate("Seven is", s);
        Generation b = m.generate("Seven is", s);
        assertArrayEquals(a.tokenIds(), b.tokenIds());
        boolean differs = false;
        for (long seed = 1; seed <= 5 && !differs; seed++) {
            differs = !Arrays.equals(
                    a.tokenIds(), m.generate("Seven is", s.seed(seed)).tokenIds());
        }
        assertTrue(differs, "other seeds should give other samples");
        // a batch samples each row as it would alone
        List<Generation> batch =
                m.generate(List.of("Seven is", "Question: What is 4 + 4?\nAnswer:"), s, TokenListener.none());
        assertArrayEquals(a.tokenIds(), batch.get(0).tokenIds());
    }

    @Test
    void streamingDeliversExactlyTheFinalText() {
        BaseModel m = TestModels.tiny();
        StringBuilder streamed = new StringBuilder();
        Generation g = m.generate(PROMPTS.get(0), Sampling.greedy().maxNewTokens(30), streamed::append);
        assertEquals(g.text(), streamed.toString());
    }

    @Test
    void stopStringsAndTokenBudget() {
        BaseModel m = TestModels.tiny();
        Generation free = m.generate(PROMPTS.get(2), Sampling.greedy().maxNewTokens(60));
        assertTrue(free.text().length() > 4, free.text());
        String stop = free.text().substring(2, 4);
        StringBuilder streamed = new StringBuilder();
        Generation stopped =
                m.generate(PROMPTS.get(2), Sampling.greedy().maxNewTokens(60).stop(stop), streamed::append);
        assertEquals(FinishReason.STOP_STRING, stopped.finishReason());
        assertEquals(free.text().substring(0, free.text().indexOf(stop)), stopped.text());
        assertEquals(stopped.text(), streamed.toString());
        Generation three =
                m.generate(PROMPTS.get(2), Sampling.greedy().maxNewTokens(3).stopAtEos(false));
        assertEquals(3, three.completionTokens());
        assertEquals(FinishReason.MAX_TOKENS, three.finishReason());
    }

    @Test
    void promptLongerThanTheContextIsATypedError() {
        BaseModel m = TestModels.tiny();
        String longPrompt = "1 ".repeat(m.contextLength() + 10);
        var e = assertThrows(
                ContextLengthException.class,
                () -> m.generate(List.of("hi", longPrompt), Sampling.greedy(), TokenListener.none()));
        assertTrue(
                e.getMessage().contains("prompt 1") && e.getMessage().contains(String.valueOf(m.contextLength())),
                e.getMessage());
    }

    @Test
    void tokenizerRoundTripsAndKeepsSpecialTokensWhole() {
        Tokenizer t = TestModels.tiny().tokenizer();
        for (String s : List.of(
                "What is 123 + 456?",
                "Seven is an odd number. It comes right after six.",
                "  spaces\tand\nnewlines  ",
                "café ünïcödé 🙂 — 3×4=12")) {
            assertEquals(s, t.decode(t.encode(s), false), "round trip of: " + s);
        }
        long[] digits = t.encode("2026");
        assertEquals(4, digits.length, "digits are single tokens");
        long[] chat = t.encode("<|im_start|>user\nhi<|im_end|>");
        assertEquals(t.specialTokenId("<|im_start|>"), chat[0]);
        assertEquals(t.specialTokenId("<|im_end|>"), chat[chat.length - 1]);
        assertTrue(t.isSpecial(chat[0]));
        assertEquals("user\nhi", t.decode(chat, true));
    }

    @Test
    void chatTemplateRendersAsDocumented() {
        BaseModel m = TestModels.tiny();
        String text =
                m.applyChatTemplate(List.of(ChatMessage.system("Be brief."), ChatMessage.user("What is 2 + 2?")), true);
        assertEquals(
                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n"
                        + "<|im_start|>assistant\n",
                text);
        String noPrompt = m.applyChatTemplate(List.of(ChatMessage.user("hi"), ChatMessage.assistant("4")), false);
        assertEquals("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n", noPrompt);
        Generation g = m.chat(
                List.of(ChatMessage.user("What is 5 + 7?")), Sampling.greedy().maxNewTokens(48), t -> {});
        assertNotEquals(FinishReason.CONTEXT_FULL, g.finishReason());
    }

    static long[] ones(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1);
        return a;
    }

    static long[] range(int from, int to) {
        long[] a = new long[to - from];
        for (int i = 0; i < a.length; i++) {
            a[i] = from + i;
        }
        return a;
    }
}
