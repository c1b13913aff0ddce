package dev.rectify.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads demonstrations from JSON Lines, one object per line, in any of these formats (mixed freely):
 * <ul>
 *   <li>prompt/completion strings (TRL's standard prompt-completion): {@code {"prompt": "...", "completion": "..."}};</li>
 *   <li>conversations (OpenAI chat fine-tuning, TRL conversational): {@code {"messages": [{"role", "content",
 *       "weight"?}, ...]}}, where assistant messages with weight 0 are context only;</li>
 *   <li>TRL conversational prompt-completion: {@code {"prompt": [messages], "completion": [messages]}}.</li>
 * </ul>
 * Blank lines are skipped; other fields (such as {@code answer}) are ignored. Any other line is a
 * {@link DataFormatException} naming the file and line.
 */
public final class JsonlDataset {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool", "developer");

    private JsonlDataset() {}

    /** Reads every example in {@code file}. */
    public static List<Example> read(Path file) {
        List<Example> out = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            long lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (!line.isBlank()) {
                    out.add(parseLine(file, lineNo, line));
                }
            }
        } catch (NoSuchFileException e) {
            throw new InvalidArgumentException(file + ": data file not found");
        } catch (MalformedInputException e) {
            throw new InvalidArgumentException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new InvalidArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (out.isEmpty()) {
            throw new InvalidArgumentException(file + ": no examples (the file is empty)");
        }
        return out;
    }

    /** Parses one line (1-based {@code lineNo} for messages). */
    public static Example parseLine(Path file, long lineNo, String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new DataFormatException(file, lineNo, "not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new DataFormatException(
                    file, lineNo, "expected a JSON object, found " + (n == null ? "nothing" : n.getNodeType()));
        }
        try {
            if (n.has("messages")) {
                return Example.chat(messages(file, lineNo, n.get("messages"), "messages"));
            }
            if (n.has("prompt") || n.has("completion")) {
                JsonNode p = n.get("prompt");
                JsonNode c = n.get("completion");
                if (p == null || c == null) {
                    throw new DataFormatException(
                            file,
                            lineNo,
                            "has "
                                    + (p == null
                                            ? "\"completion\" but no \"prompt\""
                                            : "\"prompt\" but no \"completion\""));
                }
                if (p.isTextual() && c.isTextual()) {
                    if (c.asText().isEmpty()) {
                        throw new DataFormatException(
                                file, lineNo, "\"completion\" is empty: there is nothing to learn");
                    }
                    return Example.of(p.asText(), c.asText());
                }
                if (p.isArray() && c.isArray()) {
                    List<ChatMessage> all = new ArrayList<>(messages(file, lineNo, p, "prompt"));
                    for (ChatMessage m : all) {
                        if (m.role().equals("assistant")) {
                            all.set(all.indexOf(m), new ChatMessage(m.role(), m.content(), 0));
                        }
                    }
                    all.addAll(messages(file, lineNo, c, "completion"));
                    return Example.chat(all);
                }
                throw new DataFormatException(
                        file, lineNo, "\"prompt\" and \"completion\" must both be strings or both be message lists");
            }
            if (n.has("text")) {
                throw new DataFormatException(
                        file,
                        lineNo,
                        "\"text\" rows (plain language modelling) are not supported: "
                                + "use {\"prompt\", \"completion\"} or {\"messages\"} so Rectify knows what to learn");
            }
            throw new DataFormatException(
                    file,
                    lineNo,
                    "unknown format: expected \"prompt\"/\"completion\" or \"messages\", found fields "
                            + fieldNames(n));
        } catch (DataFormatException e) {
            throw e;
        } catch (InvalidArgumentException e) {
            throw new DataFormatException(file, lineNo, e.getMessage());
        }
    }

    private static List<ChatMessage> messages(Path file, long lineNo, JsonNode arr, String field) {
        if (!arr.isArray() || arr.isEmpty()) {
            throw new DataFormatException(file, lineNo, "\"" + field + "\" must be a non-empty array of messages");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode m = arr.get(i);
            String where = "\"" + field + "\"[" + i + "]";
            if (!m.isObject()) {
                throw new DataFormatException(file, lineNo, where + " must be an object with \"role\" and \"content\"");
            }
            JsonNode role = m.get("role");
            JsonNode content = m.get("content");
            if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
                throw new DataFormatException(
                        file, lineNo, where + ".role must be one of " + ROLES + ", found " + role);
            }
            if (content == null || !content.isTextual()) {
                throw new DataFormatException(
                        file,
                        lineNo,
                        where + ".content must be a string, found "
                                + (content == null ? "nothing" : content.getNodeType()));
            }
            double weight = 1;
            if (m.has("weight")) {
                JsonNode w = m.get("weight");
                if (!w.isNumber() || (w.asDouble() != 0 && w.asDouble() != 1)) {
                    throw new DataFormatException(file, lineNo, where + ".weight must be 0 or 1, found " + w);
                }
                weight = w.asDouble();
            }
            out.add(new ChatMessage(role.asText(), content.asText(), weight));
        }
        return out;
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
