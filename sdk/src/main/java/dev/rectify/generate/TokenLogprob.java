package dev.rectify.generate;

/**
 * The log-probability of one generated token under the model's raw distribution at its position (before temperature,
 * top-k and top-p), and those of the most likely tokens there, most likely first ({@link Sampling#logprobs(int)}).
 *
 * @param topIds the most likely token ids at the position (empty when none were asked for)
 * @param topLogprobs their log-probabilities, in the same order
 */
public record TokenLogprob(long tokenId, double logprob, long[] topIds, double[] topLogprobs) {
    /**
     * The log-probabilities at one position: {@code logits[offset .. offset + vocab)} log-softmaxed (in double
     * precision), the chosen {@code token}'s and the {@code top} largest.
     */
    static TokenLogprob of(float[] logits, int offset, int vocab, int token, int top) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        double logZ = max + Math.log(sum);
        int k = Math.min(top, vocab);
        long[] ids = new long[k];
        double[] lps = new double[k];
        int filled = 0;
        for (int i = 0; i < vocab && k > 0; i++) {
            double lp = logits[offset + i] - logZ;
            if (filled < k || lp > lps[filled - 1]) {
                int j = Math.min(filled, k - 1);
                while (j > 0 && lps[j - 1] < lp) { // insertion into the sorted top list
                    lps[j] = lps[j - 1];
                    ids[j] = ids[j - 1];
                    j--;
                }
                lps[j] = lp;
                ids[j] = i;
                filled = Math.min(filled + 1, k);
            }
        }
        return new TokenLogprob(token, logits[offset + token] - logZ, ids, lps);
    }
}
