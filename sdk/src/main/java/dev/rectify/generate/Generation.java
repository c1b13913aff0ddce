package dev.rectify.generate;

import java.util.List;

/**
 * The result for one prompt: the generated text, its token ids, the prompt's token count, why it stopped, and
 * timings measured from the start of the call: until the first new token was chosen (prefill included) and until
 * the sequence finished; with {@link Sampling#logprobs(int)}, the log-probability of each token in {@code tokenIds}
 * (else {@code logprobs} is null).
 */
public record Generation(
        String text,
        long[] tokenIds,
        int promptTokens,
        FinishReason finishReason,
        long firstTokenNanos,
        long totalNanos,
        List<TokenLogprob> logprobs) {
    /** A generation without log-probabilities. */
    public Generation(
            String text,
            long[] tokenIds,
            int promptTokens,
            FinishReason finishReason,
            long firstTokenNanos,
            long totalNanos) {
        this(text, tokenIds, promptTokens, finishReason, firstTokenNanos, totalNanos, null);
    }

    /** Number of generated tokens. */
    public int completionTokens() {
        return tokenIds.length;
    }

    /** Decode speed after the first token: (tokens − 1) / (total − first-token time); 0 with fewer than 2 tokens. */
    public double decodeTokensPerSecond() {
        long t = totalNanos - firstTokenNanos;
        return tokenIds.length < 2 || t <= 0 ? 0 : (tokenIds.length - 1) / (t / 1e9);
    }
}
