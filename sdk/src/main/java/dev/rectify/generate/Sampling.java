package dev.rectify.generate;

import dev.rectify.core.InvalidArgumentException;
import java.util.List;
import java.util.Objects;

/**
 * How to pick tokens: greedy, or sampling with temperature, top-k, top-p and a seed; plus when to stop
 * (max new tokens, stop strings, end-of-sequence). Immutable: every {@code withX}/setter returns a copy.
 * <pre>{@code Sampling.greedy().maxNewTokens(64)}
 * {@code Sampling.sample(0.8).topP(0.95).seed(7)}</pre>
 */
public final class Sampling {
    /** Upper bound for {@link #maxNewTokens}; larger requests are almost always mistakes. */
    public static final int MAX_NEW_TOKENS_LIMIT = 1 << 20;
    /** Upper bound for temperature. */
    public static final double MAX_TEMPERATURE = 100.0;
    /** Upper bound for the alternatives {@link #logprobs(int)} reports per token. */
    public static final int MAX_TOP_LOGPROBS = 20;

    private final double temperature;
    private final int topK;
    private final double topP;
    private final long seed;
    private final int maxNewTokens;
    private final List<String> stop;
    private final boolean stopAtEos;
    private final int logprobs;

    private Sampling(
            double temperature,
            int topK,
            double topP,
            long seed,
            int maxNewTokens,
            List<String> stop,
            boolean stopAtEos) {
        this(temperature, topK, topP, seed, maxNewTokens, stop, stopAtEos, -1);
    }

    private Sampling(
            double temperature,
            int topK,
            double topP,
            long seed,
            int maxNewTokens,
            List<String> stop,
            boolean stopAtEos,
            int logprobs) {
        if (logprobs < -1 || logprobs > MAX_TOP_LOGPROBS) {
            throw new InvalidArgumentException(
                    "logprobs must be -1 (off) or in [0, " + MAX_TOP_LOGPROBS + "], got " + logprobs);
        }
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw new InvalidArgumentException(
                    "temperature must be in [0, " + MAX_TEMPERATURE + "], got " + temperature);
        }
        if (topK < 0) {
            throw new InvalidArgumentException("topK must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new InvalidArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (maxNewTokens < 1 || maxNewTokens > MAX_NEW_TOKENS_LIMIT) {
            throw new InvalidArgumentException(
                    "maxNewTokens must be in [1, " + MAX_NEW_TOKENS_LIMIT + "], got " + maxNewTokens);
        }
        for (String s : stop) {
            if (s == null || s.isEmpty()) {
                throw new InvalidArgumentException("stop strings must be non-empty");
            }
        }
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.seed = seed;
        this.maxNewTokens = maxNewTokens;
        this.stop = List.copyOf(stop);
        this.stopAtEos = stopAtEos;
        this.logprobs = logprobs;
    }

    /** Always the most likely token; 128 new tokens at most. */
    public static Sampling greedy() {
        return new Sampling(0, 0, 1, 0, 128, List.of(), true);
    }

    /** Sampling at {@code temperature} (0 means greedy), seed 0. */
    public static Sampling sample(double temperature) {
        return new Sampling(temperature, 0, 1, 0, 128, List.of(), true);
    }

    public Sampling temperature(double t) {
        return new Sampling(t, topK, topP, seed, maxNewTokens, stop, stopAtEos, logprobs);
    }

    /** Keep only the {@code k} most likely tokens (0 = no limit). */
    public Sampling topK(int k) {
        return new Sampling(temperature, k, topP, seed, maxNewTokens, stop, stopAtEos, logprobs);
    }

    /** Keep the smallest set of tokens whose probability reaches {@code p} (1 = no limit). */
    public Sampling topP(double p) {
        return new Sampling(temperature, topK, p, seed, maxNewTokens, stop, stopAtEos, logprobs);
    }

    /** Seed of the sampler; the same seed, prompt and model give the same text. */
    public Sampling seed(long s) {
        return new Sampling(temperature, topK, topP, s, maxNewTokens, stop, stopAtEos, logprobs);
    }

    public Sampling maxNewTokens(int n) {
        return new Sampling(temperature, topK, topP, seed, n, stop, stopAtEos, logprobs);
    }

    /** Stop when the generated text contains any of these strings; they are not included in the result. */
    public Sampling stop(List<String> strings) {
        return new Sampling(
                temperature, topK, topP, seed, maxNewTokens, Objects.requireNonNull(strings), stopAtEos, logprobs);
    }

    public Sampling stop(String... strings) {
        return stop(List.of(strings));
    }

    /** Whether to stop at the model's end-of-sequence tokens (default true). */
    public Sampling stopAtEos(boolean b) {
        return new Sampling(temperature, topK, topP, seed, maxNewTokens, stop, b, logprobs);
    }

    /**
     * Reports the log-probability of each chosen token under the model (its raw distribution, before temperature,
     * top-k and top-p) and of the {@code top} most likely tokens at that position ({@code 0}: the chosen one only;
     * {@code -1}: off, the default). {@link Generation#logprobs()} holds them.
     */
    public Sampling logprobs(int top) {
        return new Sampling(temperature, topK, topP, seed, maxNewTokens, stop, stopAtEos, top);
    }

    /** The alternatives to report per token ({@link #logprobs(int)}), or -1 when log-probabilities are off. */
    public int logprobs() {
        return logprobs;
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public double temperature() {
        return temperature;
    }

    public int topK() {
        return topK;
    }

    public double topP() {
        return topP;
    }

    public long seed() {
        return seed;
    }

    public int maxNewTokens() {
        return maxNewTokens;
    }

    public List<String> stop() {
        return stop;
    }

    public boolean stopAtEos() {
        return stopAtEos;
    }

    @Override
    public String toString() {
        return isGreedy()
                ? "greedy(max=" + maxNewTokens + ")"
                : "sample(t=" + temperature + ", topK=" + topK + ", topP=" + topP + ", seed=" + seed + ", max="
                        + maxNewTokens + ")";
    }
}
