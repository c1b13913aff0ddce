package dev.rectify.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What Rectify reads from {@code tokenizer_config.json}: the chat template and the special tokens around it.
 * Every field is optional; a missing file gives an empty config.
 */
public record TokenizerConfig(String chatTemplate, String bosToken, String eosToken, String padToken,
        long modelMaxLength, boolean addBosToken) {

    /** No template, no special tokens, no length limit. */
    public static TokenizerConfig empty() {
        return new TokenizerConfig(null, null, null, null, -1, false);
    }

    /** Reads {@code tokenizer_config.json} from a model folder; returns {@link #empty()} when there is none. */
    public static TokenizerConfig read(Path modelDir) {
        Path file = modelDir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(file)) {
            return empty();
        }
        try {
            JsonNode n = new ObjectMapper().readTree(file.toFile());
            if (n == null || !n.isObject()) {
                throw ModelFormatException.at(file, "expected a JSON object");
            }
            String template = n.hasNonNull("chat_template") ? n.get("chat_template").asText() : null;
            return new TokenizerConfig(template, token(n, "bos_token"), token(n, "eos_token"), token(n, "pad_token"),
                    n.path("model_max_length").asLong(-1), n.path("add_bos_token").asBoolean(false));
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot parse: " + e.getMessage(), e);
        }
    }

    // A special token is either a string or an AddedToken object {"content": ...}.
    private static String token(JsonNode n, String field) {
        JsonNode t = n.get(field);
        if (t == null || t.isNull()) {
            return null;
        }
        return t.isObject() ? t.path("content").asText(null) : t.asText();
    }
}
