package dev.rectify.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.WildModels;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.eval.EvalReport;
import dev.rectify.eval.Evaluator;
import dev.rectify.eval.Problem;
import dev.rectify.generate.TokenScorer;
import dev.rectify.model.BaseModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Training and scoring on the GenAI Llama, whose Llama-2 template writes {@code ' ' + reply.strip() + ' ' + eos}
 * after {@code [/INST]}: examples are tokenized as the whole rendered conversation (the tokens inference sees, with
 * no SentencePiece word-start marker added where pieces would be cut), the trained tokens are exactly each assistant
 * reply with its closing {@code </s>}, and {@code TextModel.score} and the evaluator work on the model.
 */
class GenAiLlamaEncodingTest {
    private static BaseModel llama;

    @BeforeAll
    static void open() {
        llama = BaseModel.open(WildModels.llama());
    }

    @AfterAll
    static void close() {
        llama.close();
    }

    private static final Example PAIR = Example.of("Hello", " world");
    private static final Example CHAT = Example.chat(List.of(
            ChatMessage.system("Be brief."),
            ChatMessage.user("Hi there"),
            ChatMessage.assistant("Hello friend"),
            ChatMessage.user("Again?"),
            ChatMessage.assistant("Yes, again.")));

    /** The runs of consecutive trained tokens, decoded with special tokens kept. */
    private static List<String> trainedRuns(EncodedExample e) {
        List<String> runs = new ArrayList<>();
        int i = 0;
        while (i < e.length()) {
            if (!e.target()[i]) {
                i++;
                continue;
            }
            int j = i;
            while (j < e.length() && e.target()[j]) {
                j++;
            }
            runs.add(llama.tokenizer().decode(Arrays.copyOfRange(e.ids(), i, j), false));
            i = j;
        }
        return runs;
    }

    @Test
    void conversationsAreTokenizedAsTheWholeRenderAndTrainEachReplyWithItsEndOfTurn() {
        ExampleEncoder enc = llama.exampleEncoder(256);
        for (Example ex : List.of(PAIR, CHAT)) {
            String full = llama.chatTemplate().orElseThrow().render(ex.asMessages(), false);
            EncodedExample e = enc.encode(0, ex);
            assertArrayEquals(llama.tokenizer().encode(full), e.ids(), "the tokens of the whole render: " + full);
        }
        assertEquals(
                List.of("world </s>"),
                trainedRuns(enc.encode(0, PAIR)).stream().map(String::strip).toList());
        assertEquals(
                List.of("Hello friend </s>", "Yes, again. </s>"),
                trainedRuns(enc.encode(0, CHAT)).stream().map(String::strip).toList());
    }

    @Test
    void scoreAndEvalWorkOnTheGenAiLlama() {
        List<TokenScorer.Scores> scores = llama.score(List.of(PAIR, CHAT));
        ExampleEncoder enc = llama.exampleEncoder(256);
        assertEquals(enc.encode(0, PAIR).targetCount(), scores.get(0).probabilities().length);
        assertEquals(enc.encode(1, CHAT).targetCount(), scores.get(1).probabilities().length);
        for (TokenScorer.Scores s : scores) {
            for (double p : s.probabilities()) {
                assertTrue(p > 0 && p <= 1, "a probability: " + p);
            }
        }
        EvalReport r = new Evaluator(2, 6)
                .evaluate(
                        llama,
                        List.of(
                                new Problem("What is 2+2?", "4", "2+2 is 4"),
                                new Problem("What is 3+3?", "6", "3+3 is 6")));
        assertEquals(2, r.problems());
        assertTrue(Double.isFinite(r.nll()) && r.nll() > 0, "nll " + r.nll());
        assertTrue(r.tokenProbabilities().length > 0);
    }
}
