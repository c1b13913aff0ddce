package dev.rectify.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.Tokenizer;
import dev.rectify.model.BaseModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Tokenization for training on the bundled model's tokenizer and chat template. */
class ExampleEncoderTest {
    private static final long IM_END = 2;

    private static ExampleEncoder encoder(int max) {
        BaseModel m = TestModels.tiny();
        return new ExampleEncoder(m.tokenizer(), m.chatTemplate().orElseThrow(), IM_END, max);
    }

    private static String targets(EncodedExample e, Tokenizer t) {
        List<Long> ids = new ArrayList<>();
        for (int i = 0; i < e.length(); i++) {
            if (e.target()[i]) {
                ids.add(e.ids()[i]);
            }
        }
        return t.decode(ids.stream().mapToLong(Long::longValue).toArray(), false);
    }

    @Test
    void promptCompletionTrainsTheCompletionAndEndOfSequenceOnly() {
        Tokenizer t = TestModels.tiny().tokenizer();
        EncodedExample e = encoder(512).encode(0, Example.of("What is 2 + 2?", "Answer: 4"));
        assertEquals(
                "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\nAnswer: 4<|im_end|>\n",
                t.decode(e.ids(), false));
        assertEquals("Answer: 4<|im_end|>", targets(e, t));
        // the sequence tokenizes exactly as the whole rendered text would
        assertArrayEquals(t.encode(t.decode(e.ids(), false)), e.ids());
    }

    @Test
    void conversationsTrainOnlyWeightedAssistantTurns() {
        Tokenizer t = TestModels.tiny().tokenizer();
        EncodedExample e = encoder(512)
                .encode(
                        3,
                        Example.chat(List.of(
                                ChatMessage.system("Be brief."),
                                ChatMessage.user("hi"),
                                new ChatMessage("assistant", "draft", 0),
                                ChatMessage.user("again"),
                                ChatMessage.assistant("hello"))));
        assertEquals("hello<|im_end|>", targets(e, t));
        assertEquals(3, e.index());
    }

    @Test
    void rawTextWithoutTemplate() {
        BaseModel m = TestModels.tiny();
        ExampleEncoder raw = new ExampleEncoder(m.tokenizer(), null, IM_END, 512);
        EncodedExample e = raw.encode(0, Example.of("Q: 1 + 1 =", " 2"));
        assertEquals(" 2<|im_end|>", targets(e, m.tokenizer()));
        assertThrows(
                InvalidArgumentException.class,
                () -> raw.encode(1, Example.chat(List.of(ChatMessage.user("q"), ChatMessage.assistant("a")))));
    }

    @Test
    void truncationKeepsThePrefixAndRefusesExamplesWithNothingLeft() {
        EncodedExample e = encoder(20).encode(0, Example.of("What is 2 + 2?", "The answer is four, which is 2 + 2."));
        assertEquals(20, e.length());
        assertTrue(e.targetCount() > 0);
        var err = assertThrows(
                InvalidArgumentException.class,
                () -> encoder(8).encode(5, Example.of("What is 2 + 2? Please think carefully.", "4")));
        assertTrue(err.getMessage().contains("example 5"), err.getMessage());
    }

    @Test
    void emptyListAndEmptyCompletionAreErrors() {
        assertThrows(InvalidArgumentException.class, () -> encoder(64).encodeAll(List.of()));
        var err = assertThrows(InvalidArgumentException.class, () -> encoder(64).encode(7, Example.of("q", "")));
        assertTrue(err.getMessage().contains("example 7") && err.getMessage().contains("empty"), err.getMessage());
    }

    @Test
    void microBatchesShiftLabelsAndPadOnTheRight() {
        ExampleEncoder enc = encoder(512);
        EncodedExample a = enc.encode(0, Example.of("What is 2 + 2?", "4"));
        EncodedExample b = enc.encode(1, Example.of("What is 12 + 30?", "Answer: 42"));
        MicroBatch mb = MicroBatch.of(List.of(a, b), 0);
        assertEquals(2, mb.rows());
        assertEquals(Math.max(a.length(), b.length()), mb.length());
        assertEquals(a.targetCount() + b.targetCount(), mb.targets());
        int len = mb.length();
        for (int t = 0; t + 1 < a.length(); t++) {
            long expected = a.target()[t + 1] ? a.ids()[t + 1] : MicroBatch.IGNORE;
            assertEquals(expected, mb.labels()[t]);
        }
        for (int t = a.length(); t < len; t++) {
            assertEquals(0, mb.attentionMask()[t]);
            assertEquals(MicroBatch.IGNORE, mb.labels()[t]);
        }
        assertFalse(mb.labels()[a.length() - 1] != MicroBatch.IGNORE, "the last real position predicts nothing");
    }

    @Test
    void scheduleIsDeterministicAndCoversEachEpoch() {
        ExampleEncoder enc = encoder(512);
        List<EncodedExample> ex = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            ex.add(enc.encode(i, Example.of("What is " + i + " + " + (i * 7) + "?", "Answer: " + (i * 8))));
        }
        TrainingSchedule s1 = new TrainingSchedule(ex, 4, 2, 7, 0);
        TrainingSchedule s2 = new TrainingSchedule(ex, 4, 2, 7, 0);
        assertEquals(3, s1.stepsPerEpoch());
        List<Integer> seen = new ArrayList<>();
        for (int step = 0; step < 3; step++) {
            List<MicroBatch> a = s1.step(1, step);
            List<MicroBatch> b = s2.step(1, step);
            assertEquals(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(a.get(i).inputIds(), b.get(i).inputIds());
                for (int idx : a.get(i).exampleIndices()) {
                    seen.add(idx);
                }
            }
        }
        seen.sort(Integer::compare);
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), seen);
        assertFalse(
                Arrays.equals(
                                s1.step(0, 0).get(0).exampleIndices(),
                                s1.step(1, 0).get(0).exampleIndices())
                        && Arrays.equals(
                                s1.step(0, 1).get(0).exampleIndices(),
                                s1.step(1, 1).get(0).exampleIndices()),
                "epochs are shuffled differently");
    }
}
