package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/**
 * The schedules against Hugging Face transformers' formulas (optimization.py, get_*_schedule_with_warmup), the
 * expected values written out from those formulas, not from our code: with w warmup steps of n, the factor at
 * optimizer step s (from 0) is s / max(1, w) while s &lt; w; then linear max(0, (n − s) / max(1, n − w)), cosine
 * max(0, ½(1 + cos(π · 2 · 0.5 · (s − w) / max(1, n − w)))), constant_with_warmup 1; constant is 1 throughout.
 * Here n = 10, w = 3 (TrainingArguments.get_warmup_steps: ceil(10 × 0.25)).
 */
class LrScheduleTest {
    private static final int N = 10;
    private static final double PEAK = 2e-4;
    private static final int[] STEPS = {0, 1, 2, 3, 5, 9, 10};

    private static void check(LrSchedule s, double[] expected) {
        int w = LrSchedule.warmupSteps(0.25, N);
        for (int i = 0; i < STEPS.length; i++) {
            assertEquals(expected[i] * PEAK, s.at(STEPS[i], N, w, PEAK), 1e-18, s + " at step " + STEPS[i]);
        }
    }

    @Test
    void warmupStepsAreHuggingFacesCeiling() {
        assertEquals(3, LrSchedule.warmupSteps(0.25, 10));
        assertEquals(3, LrSchedule.warmupSteps(0.1, 30));
        assertEquals(1, LrSchedule.warmupSteps(0.01, 7));
        assertEquals(0, LrSchedule.warmupSteps(0.0, 7));
    }

    @Test
    void linearMatchesTransformers() {
        check(LrSchedule.LINEAR, new double[] {0.0, 1 / 3.0, 2 / 3.0, 1.0, 0.7142857142857143, 0.14285714285714285, 0.0
        });
    }

    @Test
    void cosineMatchesTransformers() {
        check(LrSchedule.COSINE, new double[] {0.0, 1 / 3.0, 2 / 3.0, 1.0, 0.8117449009293668, 0.04951556604879048, 0.0
        });
    }

    @Test
    void constantWithWarmupMatchesTransformers() {
        check(LrSchedule.CONSTANT_WITH_WARMUP, new double[] {0.0, 1 / 3.0, 2 / 3.0, 1.0, 1.0, 1.0, 1.0});
    }

    @Test
    void constantIgnoresTheWarmupAsTransformersDoes() {
        check(LrSchedule.CONSTANT, new double[] {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0});
    }

    @Test
    void noWarmupStartsAtThePeak() {
        assertEquals(PEAK, LrSchedule.LINEAR.at(0, 4, 0, PEAK), 0);
        assertEquals(0.75 * PEAK, LrSchedule.LINEAR.at(1, 4, 0, PEAK), 1e-18);
        assertEquals(PEAK, LrSchedule.COSINE.at(0, 4, 0, PEAK), 0);
        assertEquals(0.5 * PEAK, LrSchedule.COSINE.at(2, 4, 0, PEAK), 1e-18);
    }

    @Test
    void namesAreHuggingFaces() {
        assertEquals(LrSchedule.CONSTANT_WITH_WARMUP, LrSchedule.byName("constant_with_warmup"));
        assertEquals(LrSchedule.COSINE, LrSchedule.byName("Cosine"));
        assertEquals("constant_with_warmup", LrSchedule.CONSTANT_WITH_WARMUP.hfName());
        assertNull(LrSchedule.byName("polynomial"));
    }
}
