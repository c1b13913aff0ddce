package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.model.BaseModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Token log-probabilities: the log-softmax of the raw logits, the top alternatives, and through a real generation. */
class TokenLogprobTest {
    @Test
    void isTheLogSoftmaxWithTheTopTokensMostLikelyFirst() {
        float[] logits = {0, 9, 1, 3, 2, 7, 5};
        double logZ = 0;
        for (float l : logits) {
            logZ += Math.exp(l);
        }
        logZ = Math.log(logZ);
        TokenLogprob lp = TokenLogprob.of(logits, 0, logits.length, 3, 3);
        assertEquals(3, lp.tokenId());
        assertEquals(3 - logZ, lp.logprob(), 1e-12);
        assertArrayEquals(new long[] {1, 5, 6}, lp.topIds());
        assertArrayEquals(new double[] {9 - logZ, 7 - logZ, 5 - logZ}, lp.topLogprobs(), 1e-12);
        assertEquals(0, TokenLogprob.of(logits, 0, logits.length, 1, 0).topIds().length);
        // large logits do not overflow
        TokenLogprob big = TokenLogprob.of(new float[] {1000, 1000}, 0, 2, 0, 2);
        assertEquals(Math.log(0.5), big.logprob(), 1e-12);
    }

    @Test
    void greedyGenerationReportsTheArgmaxAsItsOwnTopToken() {
        BaseModel m = TestModels.tiny();
        Generation g = m.generate(
                        List.of("12 + 7 ="), Sampling.greedy().maxNewTokens(6).logprobs(4), TokenListener.none())
                .get(0);
        assertEquals(g.tokenIds().length, g.logprobs().size());
        for (int i = 0; i < g.logprobs().size(); i++) {
            TokenLogprob lp = g.logprobs().get(i);
            assertEquals(g.tokenIds()[i], lp.tokenId());
            assertTrue(lp.logprob() <= 0, lp.toString());
            assertEquals(4, lp.topIds().length);
            assertEquals(lp.tokenId(), lp.topIds()[0], "greedy picks the most likely token");
            assertEquals(lp.logprob(), lp.topLogprobs()[0], 1e-12);
            for (int j = 1; j < 4; j++) {
                assertTrue(lp.topLogprobs()[j] <= lp.topLogprobs()[j - 1]);
            }
        }
        assertNull(m.generate(List.of("12 + 7 ="), Sampling.greedy().maxNewTokens(2), TokenListener.none())
                .get(0)
                .logprobs());
        assertThrows(InvalidArgumentException.class, () -> Sampling.greedy().logprobs(21));
    }
}
