package dev.rectify.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What Rectify reads from a model folder's {@code config.json} and {@code generation_config.json}: sizes used to
 * shape the KV cache, the context length, and end-of-sequence / padding ids. Missing values are -1.
 */
public record ModelConfig(String modelType, int vocabSize, int numLayers, int numKeyValueHeads, int headDim,
        int maxPositionEmbeddings, Set<Long> eosTokenIds, long padTokenId, int defaultMaxNewTokens) {

    /** Reads both files when present. */
    public static ModelConfig read(Path dir) {
        JsonNode c = json(dir.resolve("config.json"));
        JsonNode g = json(dir.resolve("generation_config.json"));
        int heads = c.path("num_attention_heads").asInt(-1);
        int hidden = c.path("hidden_size").asInt(-1);
        int headDim = c.path("head_dim").asInt(heads > 0 && hidden > 0 ? hidden / heads : -1);
        Set<Long> eos = new LinkedHashSet<>();
        addIds(eos, c.get("eos_token_id"));
        addIds(eos, g.get("eos_token_id"));
        long pad = g.path("pad_token_id").asLong(c.path("pad_token_id").asLong(-1));
        int maxPos = c.path("max_position_embeddings").asInt(c.path("n_positions").asInt(-1));
        return new ModelConfig(c.path("model_type").asText(""), c.path("vocab_size").asInt(-1),
                c.path("num_hidden_layers").asInt(c.path("n_layer").asInt(-1)),
                c.path("num_key_value_heads").asInt(heads), headDim, maxPos, java.util.Collections.unmodifiableSet(eos), pad,
                g.path("max_new_tokens").asInt(-1));
    }

    private static void addIds(Set<Long> out, JsonNode n) {
        if (n == null || n.isNull()) {
            return;
        }
        if (n.isArray()) {
            n.forEach(x -> out.add(x.asLong()));
        } else if (n.canConvertToLong()) {
            out.add(n.asLong());
        }
    }

    private static JsonNode json(Path file) {
        if (!Files.isRegularFile(file)) {
            return new ObjectMapper().createObjectNode();
        }
        try {
            JsonNode n = new ObjectMapper().readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw ModelFormatException.at(file, "expected a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot parse: " + e.getMessage(), e);
        }
    }
}
