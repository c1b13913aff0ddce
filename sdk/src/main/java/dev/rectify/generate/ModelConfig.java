package dev.rectify.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * What Rectify reads from a model folder's {@code config.json}, ONNX Runtime GenAI's {@code genai_config.json}
 * (or the GenAI {@code model} block inside {@code config.json}) and {@code generation_config.json}: sizes used to
 * shape the KV cache, the context length, special token ids, the graph's input/output names and file, and the
 * sampling defaults. Hugging Face fields win over GenAI's where both are given. Missing values are -1.
 */
public record ModelConfig(
        String modelType,
        int vocabSize,
        int numLayers,
        int numKeyValueHeads,
        int headDim,
        int maxPositionEmbeddings,
        Set<Long> eosTokenIds,
        long padTokenId,
        int defaultMaxNewTokens,
        long bosTokenId,
        GenAiConfig genai,
        GenerationDefaults generation) {

    /** Reads the files that are present. */
    public static ModelConfig read(Path dir) {
        JsonNode c = json(dir.resolve("config.json"));
        JsonNode g = json(dir.resolve("generation_config.json"));
        GenAiConfig genai = genai(dir, c);
        int heads = c.path("num_attention_heads").asInt(c.path("n_head").asInt(-1));
        int hidden = c.path("hidden_size").asInt(c.path("n_embd").asInt(-1));
        int headDim = c.path("head_dim").asInt(heads > 0 && hidden > 0 ? hidden / heads : -1);
        Set<Long> eos = new LinkedHashSet<>();
        addIds(eos, c.get("eos_token_id"));
        addIds(eos, g.get("eos_token_id"));
        long pad = g.path("pad_token_id").asLong(c.path("pad_token_id").asLong(-1));
        long bos = g.path("bos_token_id").asLong(c.path("bos_token_id").asLong(-1));
        int maxPos =
                c.path("max_position_embeddings").asInt(c.path("n_positions").asInt(-1));
        int vocab = c.path("vocab_size").asInt(-1);
        int layers = c.path("num_hidden_layers").asInt(c.path("n_layer").asInt(-1));
        int kvHeads = c.path("num_key_value_heads").asInt(heads);
        if (genai != null) {
            eos.addAll(genai.eosTokenIds());
            pad = pad >= 0 ? pad : genai.padTokenId();
            bos = bos >= 0 ? bos : genai.bosTokenId();
            maxPos = maxPos > 0 ? maxPos : genai.contextLength();
            vocab = vocab > 0 ? vocab : genai.vocabSize();
            layers = layers > 0 ? layers : genai.numLayers();
            kvHeads = kvHeads > 0 ? kvHeads : genai.numKeyValueHeads();
            headDim = headDim > 0 ? headDim : genai.headSize();
        }
        String type = c.path("model_type").asText(genai == null ? "" : genai.modelType());
        return new ModelConfig(
                type,
                vocab,
                layers,
                kvHeads,
                headDim,
                maxPos,
                Collections.unmodifiableSet(eos),
                pad,
                g.path("max_new_tokens").asInt(-1),
                bos,
                genai,
                GenerationDefaults.of(g));
    }

    /** The graph's input/output names: GenAI's when the folder has a GenAI config, else the defaults. */
    public IoNames ioNames() {
        return genai == null ? IoNames.defaults() : genai.names();
    }

    /** The GenAI configuration, when the folder has one. */
    public Optional<GenAiConfig> genaiConfig() {
        return Optional.ofNullable(genai);
    }

    private static GenAiConfig genai(Path dir, JsonNode config) {
        Path file = dir.resolve("genai_config.json");
        JsonNode g = json(file);
        if (g.path("model").isObject()) {
            return GenAiConfig.of(file, g.get("model"));
        }
        if (Files.isRegularFile(file)) {
            throw ModelFormatException.at(file, "no \"model\" object: not an ONNX Runtime GenAI configuration");
        }
        if (config.path("model").isObject()) {
            return GenAiConfig.of(dir.resolve("config.json"), config.get("model"));
        }
        return null;
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
