package dev.rectify.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from one row of logits according to a {@link Sampling}. Each sequence gets its own
 * picker so a batch samples exactly as the same prompts would one by one.
 */
final class TokenPicker {
    private final Sampling sampling;
    private final SplittableRandom random;

    TokenPicker(Sampling sampling) {
        this.sampling = sampling;
        this.random = new SplittableRandom(sampling.seed());
    }

    /** The chosen token id from {@code logits[offset, offset + vocab)}. */
    int pick(float[] logits, int offset, int vocab) {
        if (sampling.isGreedy()) {
            return argmax(logits, offset, vocab);
        }
        double invT = 1.0 / sampling.temperature();
        Integer[] order = null;
        int keep = vocab;
        if (sampling.topK() > 0 && sampling.topK() < vocab) {
            keep = sampling.topK();
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            p[i] = Math.exp((logits[offset + i] - max) * invT);
            sum += p[i];
        }
        for (int i = 0; i < vocab; i++) {
            p[i] /= sum;
        }
        if (keep < vocab || sampling.topP() < 1) {
            order = new Integer[vocab];
            for (int i = 0; i < vocab; i++) {
                order[i] = i;
            }
            final double[] probs = p;
            Arrays.sort(
                    order, (a, b) -> probs[b] != probs[a] ? Double.compare(probs[b], probs[a]) : Integer.compare(a, b));
            double cum = 0;
            int n = 0;
            while (n < keep) {
                cum += p[order[n]];
                n++;
                if (cum >= sampling.topP()) {
                    break;
                }
            }
            double r = random.nextDouble() * cum;
            double acc = 0;
            for (int j = 0; j < n; j++) {
                acc += p[order[j]];
                if (r < acc) {
                    return order[j];
                }
            }
            return order[n - 1];
        }
        double r = random.nextDouble();
        double acc = 0;
        for (int i = 0; i < vocab; i++) {
            acc += p[i];
            if (r < acc) {
                return i;
            }
        }
        return argmax(logits, offset, vocab);
    }

    static int argmax(float[] logits, int offset, int vocab) {
        int best = 0;
        float bestV = logits[offset];
        for (int i = 1; i < vocab; i++) {
            if (logits[offset + i] > bestV) {
                bestV = logits[offset + i];
                best = i;
            }
        }
        return best;
    }
}
