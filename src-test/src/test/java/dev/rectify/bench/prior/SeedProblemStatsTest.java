package dev.rectify.bench.prior;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SeedProblemStatsTest {
    private static double[][] bernoulli(int seeds, int problems, double p, long rng) {
        SplittableRandom r = new SplittableRandom(rng);
        double[][] t = new double[seeds][problems];
        for (double[] row : t) {
            for (int i = 0; i < problems; i++) {
                row[i] = r.nextDouble() < p ? 1 : 0;
            }
        }
        return t;
    }

    @Test
    void aConstantTableHasAZeroWidthInterval() {
        double[][] t = {{1, 1, 1}, {1, 1, 1}};
        SeedProblemStats.Interval iv = SeedProblemStats.mean(t, 1);
        assertEquals(1.0, iv.mean());
        assertEquals(1.0, iv.low());
        assertEquals(1.0, iv.high());
    }

    @Test
    void theIntervalCoversTheTrueMeanAndShrinksWithMoreProblems() {
        int covered = 0;
        for (int trial = 0; trial < 20; trial++) {
            SeedProblemStats.Interval iv = SeedProblemStats.mean(bernoulli(5, 100, 0.7, trial), trial);
            covered += iv.low() <= 0.7 && 0.7 <= iv.high() ? 1 : 0;
            assertTrue(iv.low() < iv.mean() && iv.mean() < iv.high(), iv.toString());
        }
        assertTrue(covered >= 17, "a 95 % interval covered the true mean in only " + covered + " of 20 trials");
        SeedProblemStats.Interval small = SeedProblemStats.mean(bernoulli(5, 50, 0.5, 99), 3);
        SeedProblemStats.Interval large = SeedProblemStats.mean(bernoulli(5, 800, 0.5, 99), 3);
        assertTrue(
                large.high() - large.low() < (small.high() - small.low()) / 2,
                "16x the problems should shrink the interval by about 4x: " + small + " vs " + large);
    }

    @Test
    void identicalMethodsDoNotDiffer() {
        double[][] a = bernoulli(5, 60, 0.6, 5);
        SeedProblemStats.PairedTest p = SeedProblemStats.paired(a, a, 1);
        assertEquals(0.0, p.difference());
        assertEquals(1.0, p.pValue());
        assertEquals(0, p.wins());
        assertEquals(0, p.losses());
    }

    @Test
    void aMethodThatSolvesEverythingTheOtherMissesWinsSignificantly() {
        double[][] a = bernoulli(5, 50, 1.0, 1);
        double[][] b = bernoulli(5, 50, 0.0, 2);
        SeedProblemStats.PairedTest p = SeedProblemStats.paired(a, b, 1);
        assertEquals(1.0, p.difference());
        assertTrue(p.pValue() < 0.001, "p = " + p.pValue());
        assertEquals(50, p.wins());
        assertEquals(0, p.losses());
        SeedProblemStats.PairedTest reverse = SeedProblemStats.paired(b, a, 1);
        assertEquals(-1.0, reverse.difference());
        assertEquals(50, reverse.losses());
    }

    @Test
    void noiseAloneIsRarelySignificant() {
        int significant = 0;
        for (int trial = 0; trial < 20; trial++) {
            SeedProblemStats.PairedTest p = SeedProblemStats.paired(
                    bernoulli(5, 100, 0.5, 2 * trial), bernoulli(5, 100, 0.5, 2 * trial + 1), trial);
            significant += p.pValue() < 0.05 ? 1 : 0;
            assertTrue(p.low() <= p.difference() && p.difference() <= p.high(), p.toString());
        }
        assertTrue(significant <= 3, significant + " of 20 null comparisons came out significant at 5 %");
    }

    @Test
    void tablesOfDifferentShapesAreRefused() {
        assertThrows(
                IllegalArgumentException.class, () -> SeedProblemStats.paired(new double[2][3], new double[2][4], 1));
        assertThrows(IllegalArgumentException.class, () -> SeedProblemStats.mean(new double[0][0], 1));
        assertThrows(IllegalArgumentException.class, () -> SeedProblemStats.mean(new double[][] {{1, 0}, {1}}, 1));
    }
}
