package dev.rectify.generate;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The sampling settings a model folder's {@code generation_config.json} asks for, applied as transformers applies
 * them when the caller gives none: greedy unless {@code do_sample} is true; when sampling, temperature 1, top-k 50
 * and top-p 1 unless the file says otherwise. Missing numbers are null.
 */
public record GenerationDefaults(
        boolean doSample, Double temperature, Integer topK, Double topP, Integer maxNewTokens) {

    /** No file: greedy, no token budget of its own. */
    public static GenerationDefaults none() {
        return new GenerationDefaults(false, null, null, null, null);
    }

    static GenerationDefaults of(JsonNode g) {
        return new GenerationDefaults(
                g.path("do_sample").asBoolean(false),
                g.hasNonNull("temperature") ? g.get("temperature").asDouble() : null,
                g.hasNonNull("top_k") ? g.get("top_k").asInt() : null,
                g.hasNonNull("top_p") ? g.get("top_p").asDouble() : null,
                g.hasNonNull("max_new_tokens") ? g.get("max_new_tokens").asInt() : null);
    }

    /** The file's settings as a {@link Sampling} (128 new tokens when it gives no budget). */
    public Sampling sampling() {
        Sampling s = doSample
                ? Sampling.sample(temperature != null ? temperature : 1.0)
                        .topK(topK != null ? topK : 50)
                        .topP(topP != null ? topP : 1.0)
                : Sampling.greedy();
        return maxNewTokens != null ? s.maxNewTokens(maxNewTokens) : s;
    }
}
