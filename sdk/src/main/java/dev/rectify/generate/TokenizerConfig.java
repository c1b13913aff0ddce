package dev.rectify.generate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What Rectify reads from {@code tokenizer_config.json}: the chat template and the special tokens around it.
 * Every field is optional; a missing file gives an empty config.
 *
 * <p>Chat templates are found as transformers finds them: {@code chat_template} as a string, or as a list of
 * {@code {"name", "template"}} (the one named {@code default} is {@link #chatTemplate()}; others, such as
 * {@code tool_use}, are in {@link #chatTemplates()}); a {@code chat_template.jinja} file beside it (transformers'
 * newer layout) replaces the default, and {@code additional_chat_templates/NAME.jinja} add named ones. Special
 * tokens are strings or AddedToken objects ({@code {"content": ...}}).
 */
public record TokenizerConfig(
        String chatTemplate,
        String bosToken,
        String eosToken,
        String padToken,
        long modelMaxLength,
        boolean addBosToken,
        String unkToken,
        Map<String, String> chatTemplates) {

    /** The name of the template used when none is asked for. */
    public static final String DEFAULT_TEMPLATE = "default";

    public TokenizerConfig {
        Map<String, String> named = new LinkedHashMap<>(chatTemplates == null ? Map.of() : chatTemplates);
        if (chatTemplate != null) {
            named.put(DEFAULT_TEMPLATE, chatTemplate);
        } else {
            chatTemplate = named.get(DEFAULT_TEMPLATE);
        }
        chatTemplates = Collections.unmodifiableMap(named);
    }

    /** A config with one (default) chat template and no unknown-token or named templates. */
    public TokenizerConfig(
            String chatTemplate,
            String bosToken,
            String eosToken,
            String padToken,
            long modelMaxLength,
            boolean addBosToken) {
        this(chatTemplate, bosToken, eosToken, padToken, modelMaxLength, addBosToken, null, Map.of());
    }

    /** No template, no special tokens, no length limit. */
    public static TokenizerConfig empty() {
        return new TokenizerConfig(null, null, null, null, -1, false);
    }

    /** Reads {@code tokenizer_config.json} (and chat template files) from a model folder. */
    public static TokenizerConfig read(Path modelDir) {
        Path file = modelDir.resolve("tokenizer_config.json");
        Map<String, String> templates = new LinkedHashMap<>();
        TokenizerConfig base = empty();
        if (Files.isRegularFile(file)) {
            try {
                JsonNode n = new ObjectMapper().readTree(file.toFile());
                if (n == null || !n.isObject()) {
                    throw ModelFormatException.at(file, "expected a JSON object");
                }
                readTemplates(file, n.get("chat_template"), templates);
                base = new TokenizerConfig(
                        null,
                        token(file, n, "bos_token"),
                        token(file, n, "eos_token"),
                        token(file, n, "pad_token"),
                        n.path("model_max_length").asLong(-1),
                        n.path("add_bos_token").asBoolean(false),
                        token(file, n, "unk_token"),
                        Map.of());
            } catch (IOException e) {
                throw ModelFormatException.at(file, "cannot parse: " + e.getMessage(), e);
            }
        }
        Path jinja = modelDir.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            templates.put(DEFAULT_TEMPLATE, readText(jinja));
        }
        Path extra = modelDir.resolve("additional_chat_templates");
        if (Files.isDirectory(extra)) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(extra, "*.jinja")) {
                for (Path f : files) {
                    String name = f.getFileName().toString();
                    templates.putIfAbsent(name.substring(0, name.length() - ".jinja".length()), readText(f));
                }
            } catch (IOException e) {
                throw ModelFormatException.at(extra, "cannot list the chat templates: " + e.getMessage(), e);
            }
        }
        return new TokenizerConfig(
                null,
                base.bosToken(),
                base.eosToken(),
                base.padToken(),
                base.modelMaxLength(),
                base.addBosToken(),
                base.unkToken(),
                templates);
    }

    private static void readTemplates(Path file, JsonNode t, Map<String, String> out) {
        if (t == null || t.isNull()) {
            return;
        }
        if (t.isTextual()) {
            out.put(DEFAULT_TEMPLATE, t.asText());
            return;
        }
        if (!t.isArray()) {
            throw ModelFormatException.at(
                    file,
                    "chat_template must be a string or a list of {\"name\", \"template\"}, " + "found "
                            + t.getNodeType());
        }
        for (int i = 0; i < t.size(); i++) {
            JsonNode e = t.get(i);
            if (!e.path("name").isTextual() || !e.path("template").isTextual()) {
                throw ModelFormatException.at(
                        file, "chat_template[" + i + "] needs a string \"name\" and \"template\"");
            }
            out.put(e.get("name").asText(), e.get("template").asText());
        }
    }

    private static String readText(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw ModelFormatException.at(f, "cannot read: " + e.getMessage(), e);
        }
    }

    // A special token is either a string or an AddedToken object {"content": ...}.
    private static String token(Path file, JsonNode n, String field) {
        JsonNode t = n.get(field);
        if (t == null || t.isNull()) {
            return null;
        }
        if (t.isObject()) {
            if (!t.path("content").isTextual()) {
                throw ModelFormatException.at(file, field + " is an object without a string \"content\"");
            }
            return t.get("content").asText();
        }
        if (!t.isTextual()) {
            throw ModelFormatException.at(
                    file, field + " must be a string or {\"content\": ...}, found " + t.getNodeType());
        }
        return t.asText();
    }
}
