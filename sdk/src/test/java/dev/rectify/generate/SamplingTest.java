package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SamplingTest {
    @Test
    void rejectsAbsurdValuesWithTheFieldName() {
        assertTrue(assertThrows(InvalidArgumentException.class, () -> Sampling.sample(-0.5))
                .getMessage()
                .contains("temperature"));
        assertThrows(InvalidArgumentException.class, () -> Sampling.sample(1e9));
        assertThrows(InvalidArgumentException.class, () -> Sampling.sample(Double.NaN));
        assertTrue(assertThrows(
                        InvalidArgumentException.class, () -> Sampling.greedy().topK(-1))
                .getMessage()
                .contains("topK"));
        assertTrue(assertThrows(
                        InvalidArgumentException.class, () -> Sampling.greedy().topP(0))
                .getMessage()
                .contains("topP"));
        assertThrows(InvalidArgumentException.class, () -> Sampling.greedy().topP(1.5));
        assertTrue(assertThrows(
                        InvalidArgumentException.class, () -> Sampling.greedy().maxNewTokens(0))
                .getMessage()
                .contains("maxNewTokens"));
        assertThrows(InvalidArgumentException.class, () -> Sampling.greedy().maxNewTokens(Integer.MAX_VALUE));
        assertThrows(InvalidArgumentException.class, () -> Sampling.greedy().stop(""));
    }

    @Test
    void isImmutable() {
        Sampling a = Sampling.greedy();
        Sampling b = a.maxNewTokens(7).temperature(0.5).seed(3);
        assertEquals(128, a.maxNewTokens());
        assertTrue(a.isGreedy());
        assertEquals(7, b.maxNewTokens());
        assertEquals(3, b.seed());
        assertEquals(0.5, b.temperature());
    }

    @Test
    void pickerIsGreedyAtZeroTemperatureAndSeededOtherwise() {
        float[] logits = {0.1f, 2.0f, 1.9f, -3f};
        assertEquals(1, new TokenPicker(Sampling.greedy()).pick(logits, 0, 4));
        Sampling s = Sampling.sample(1.0).seed(42);
        TokenPicker p1 = new TokenPicker(s);
        TokenPicker p2 = new TokenPicker(s);
        int[] counts = new int[4];
        for (int i = 0; i < 2000; i++) {
            int a = p1.pick(logits, 0, 4);
            assertEquals(a, p2.pick(logits, 0, 4));
            counts[a]++;
        }
        // tokens 1 and 2 have ~equal mass; token 3 almost none
        assertTrue(counts[1] > 600 && counts[2] > 600, Arrays.toString(counts));
        assertTrue(counts[3] < 20, Arrays.toString(counts));
    }

    @Test
    void topKAndTopPRestrictTheCandidates() {
        float[] logits = {3f, 2.9f, 2.8f, 2.7f};
        TokenPicker k1 = new TokenPicker(Sampling.sample(1.0).topK(1).seed(1));
        TokenPicker p = new TokenPicker(Sampling.sample(1.0).topP(0.3).seed(1));
        for (int i = 0; i < 200; i++) {
            assertEquals(0, k1.pick(logits, 0, 4));
            assertTrue(p.pick(logits, 0, 4) <= 1);
        }
    }
}
