package dev.rectify.bench.prior;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Statistics over a seeds × problems table of scores (1 = solved, 0 = not; or any per-problem score): the mean with a
 * 95 % two-level bootstrap interval, and a paired comparison of two methods run on the same seeds and problems.
 *
 * <p>The bootstrap resamples seeds and problems independently (the same problems for every seed of a resample), so
 * the interval covers both the training randomness and the finite evaluation set. The paired test flips the sign of
 * each problem's seed-averaged difference at random (a permutation test of "no difference", two-sided).
 */
public final class SeedProblemStats {
    /** Resamples for intervals and permutations. */
    public static final int RESAMPLES = 10_000;

    /** A mean and its 95 % percentile interval. */
    public record Interval(double mean, double low, double high) {}

    /**
     * Method a minus method b: mean difference, its 95 % interval, the permutation p-value, and how many problems a
     * solves more often than b (wins) or less often (losses) over the seeds.
     */
    public record PairedTest(double difference, double low, double high, double pValue, int wins, int losses) {}

    private SeedProblemStats() {}

    /** The mean of {@code scores[seed][problem]} with its two-level bootstrap interval. */
    public static Interval mean(double[][] scores, long rngSeed) {
        check(scores);
        double mean = grandMean(scores);
        double[] boot = bootstrap(scores, new SplittableRandom(rngSeed));
        return new Interval(mean, percentile(boot, 0.025), percentile(boot, 0.975));
    }

    /** Paired comparison of {@code a} and {@code b}, which must cover the same seeds and problems in the same order. */
    public static PairedTest paired(double[][] a, double[][] b, long rngSeed) {
        check(a);
        check(b);
        if (a.length != b.length || a[0].length != b[0].length) {
            throw new IllegalArgumentException("paired tables differ in shape: " + a.length + "x" + a[0].length + " vs "
                    + b.length + "x" + b[0].length);
        }
        double[][] d = new double[a.length][a[0].length];
        for (int s = 0; s < a.length; s++) {
            for (int i = 0; i < a[0].length; i++) {
                d[s][i] = a[s][i] - b[s][i];
            }
        }
        double diff = grandMean(d);
        double[] boot = bootstrap(d, new SplittableRandom(rngSeed));
        double[] perProblem = columnMeans(d);
        int wins = 0;
        int losses = 0;
        for (double v : perProblem) {
            wins += v > 0 ? 1 : 0;
            losses += v < 0 ? 1 : 0;
        }
        return new PairedTest(
                diff,
                percentile(boot, 0.025),
                percentile(boot, 0.975),
                signFlipPValue(perProblem, new SplittableRandom(rngSeed + 1)),
                wins,
                losses);
    }

    /** Two-sided p-value of a zero mean under random sign flips of {@code values}, with the observed one counted. */
    static double signFlipPValue(double[] values, SplittableRandom rng) {
        double observed = Math.abs(Arrays.stream(values).sum());
        if (observed == 0) {
            return 1.0;
        }
        int atLeast = 0;
        for (int r = 0; r < RESAMPLES; r++) {
            double sum = 0;
            for (double v : values) {
                sum += rng.nextBoolean() ? v : -v;
            }
            if (Math.abs(sum) >= observed - 1e-12) {
                atLeast++;
            }
        }
        return (atLeast + 1.0) / (RESAMPLES + 1.0);
    }

    private static double[] bootstrap(double[][] t, SplittableRandom rng) {
        int seeds = t.length;
        int problems = t[0].length;
        double[] out = new double[RESAMPLES];
        int[] rows = new int[seeds];
        int[] cols = new int[problems];
        for (int r = 0; r < RESAMPLES; r++) {
            for (int s = 0; s < seeds; s++) {
                rows[s] = rng.nextInt(seeds);
            }
            for (int i = 0; i < problems; i++) {
                cols[i] = rng.nextInt(problems);
            }
            double sum = 0;
            for (int s : rows) {
                for (int i : cols) {
                    sum += t[s][i];
                }
            }
            out[r] = sum / ((double) seeds * problems);
        }
        Arrays.sort(out);
        return out;
    }

    private static double grandMean(double[][] t) {
        double sum = 0;
        for (double[] row : t) {
            for (double v : row) {
                sum += v;
            }
        }
        return sum / ((double) t.length * t[0].length);
    }

    private static double[] columnMeans(double[][] t) {
        double[] m = new double[t[0].length];
        for (double[] row : t) {
            for (int i = 0; i < m.length; i++) {
                m[i] += row[i] / t.length;
            }
        }
        return m;
    }

    /** Linear-interpolated percentile of sorted values. */
    static double percentile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    private static void check(double[][] t) {
        if (t.length == 0 || t[0].length == 0) {
            throw new IllegalArgumentException("need at least one seed and one problem");
        }
        for (double[] row : t) {
            if (row.length != t[0].length) {
                throw new IllegalArgumentException("every seed must score the same problems");
            }
        }
    }
}
