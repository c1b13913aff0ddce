package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.Sampling;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A parsed and checked {@code /v1/chat/completions} or {@code /v1/completions} request; log-probabilities asked for
 * ({@code logprobs}, {@code top_logprobs}) are in its sampling ({@link Sampling#logprobs()}).
 */
public record CompletionRequest(
        String model,
        List<ChatMessage> messages,
        String prompt,
        Sampling sampling,
        boolean stream,
        boolean includeUsage) {
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "developer", "tool");
    private static final SecureRandom SEEDS = new SecureRandom();

    public boolean isChat() {
        return messages != null;
    }

    static CompletionRequest parse(ObjectNode b, boolean chat, Settings settings) {
        String model = Json.string(b, "model", "model", true);
        Ids.checkModel(model, "model");
        List<ChatMessage> messages = null;
        String prompt = null;
        int logprobs = -1;
        if (chat) {
            messages = messages(b, settings);
        } else {
            JsonNode p = b.get("prompt");
            if (p == null || p.isNull()) {
                throw ApiException.invalid("prompt", "missing required parameter 'prompt'");
            }
            if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
                prompt = p.get(0).asText();
            } else if (p.isTextual()) {
                prompt = p.asText();
            } else {
                throw ApiException.invalid(
                        "prompt",
                        "'prompt' must be a string (or an array of exactly one string), found " + Json.kind(p)
                                + (p.isArray() ? " of " + p.size() + " elements" : ""));
            }
            if (Json.bool(b, "echo", "echo") == Boolean.TRUE) {
                throw ApiException.invalid("echo", "'echo' is not supported");
            }
            Integer lp = Json.integer(b, "logprobs", "logprobs", 0, 5);
            logprobs = lp == null ? -1 : lp;
            Long bestOf = Json.integer(b, "best_of", "best_of");
            if (bestOf != null && bestOf != 1) {
                throw ApiException.invalid("best_of", "only best_of=1 is supported");
            }
        }
        if (chat) {
            for (String unsupported : List.of("tools", "functions", "tool_choice", "function_call")) {
                JsonNode v = b.get(unsupported);
                if (v != null
                        && !v.isNull()
                        && !(v.isArray() && v.isEmpty())
                        && !(v.isTextual() && v.asText().equals("none"))) {
                    throw ApiException.invalid(unsupported, "'" + unsupported + "' (tool calling) is not supported");
                }
            }
            ObjectNode rf = Json.obj(b, "response_format", "response_format");
            if (rf != null && !"text".equals(rf.path("type").asText("text"))) {
                throw ApiException.invalid("response_format", "only response_format {\"type\": \"text\"} is supported");
            }
            Integer top = Json.integer(b, "top_logprobs", "top_logprobs", 0, Sampling.MAX_TOP_LOGPROBS);
            if (Json.bool(b, "logprobs", "logprobs") == Boolean.TRUE) {
                logprobs = top == null ? 0 : top;
            } else if (top != null) {
                throw ApiException.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true");
            }
        }
        Long n = Json.integer(b, "n", "n");
        if (n != null && n != 1) {
            throw ApiException.invalid("n", "only n=1 is supported, got " + n);
        }
        Double temperature = Json.number(b, "temperature", "temperature");
        if (temperature != null && (temperature < 0 || temperature > 2)) {
            throw ApiException.invalid("temperature", "'temperature' must be in [0, 2], got " + temperature);
        }
        Double topP = Json.number(b, "top_p", "top_p");
        if (topP != null && (topP <= 0 || topP > 1)) {
            throw ApiException.invalid("top_p", "'top_p' must be in (0, 1], got " + topP);
        }
        Integer topK = Json.integer(b, "top_k", "top_k", 0, Integer.MAX_VALUE);
        Integer maxTokens = Json.integer(b, "max_tokens", "max_tokens", 1, settings.maxTokensLimit());
        Integer maxCompletion =
                Json.integer(b, "max_completion_tokens", "max_completion_tokens", 1, settings.maxTokensLimit());
        Long seed = Json.integer(b, "seed", "seed");
        Boolean stream = Json.bool(b, "stream", "stream");
        ObjectNode so = Json.obj(b, "stream_options", "stream_options");
        boolean includeUsage = false;
        if (so != null) {
            Boolean iu = Json.bool(so, "include_usage", "stream_options.include_usage");
            includeUsage = iu != null && iu;
        }
        List<String> stop = stop(b.get("stop"));
        if (logprobs >= 0 && stream == Boolean.TRUE) {
            throw ApiException.invalid(
                    "logprobs", "'logprobs' is not supported with 'stream': true; ask without streaming");
        }
        int max = maxCompletion != null ? maxCompletion : maxTokens != null ? maxTokens : settings.defaultMaxTokens();
        try {
            Sampling s = Sampling.sample(temperature == null ? 1.0 : temperature)
                    .topP(topP == null ? 1.0 : topP)
                    .topK(topK == null ? 0 : topK)
                    .seed(seed != null ? seed : SEEDS.nextLong())
                    .maxNewTokens(max)
                    .stop(stop)
                    .logprobs(logprobs);
            return new CompletionRequest(model, messages, prompt, s, stream != null && stream, includeUsage);
        } catch (InvalidArgumentException e) {
            throw ApiException.invalid(null, e.getMessage());
        }
    }

    private static List<String> stop(JsonNode v) {
        if (v == null || v.isNull()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (v.isTextual()) {
            out.add(v.asText());
        } else if (v.isArray()) {
            if (v.size() > 4) {
                throw ApiException.invalid("stop", "'stop' takes at most 4 strings, got " + v.size());
            }
            for (JsonNode s : v) {
                if (!s.isTextual()) {
                    throw ApiException.invalid(
                            "stop",
                            "'stop' must be a string or an array of strings, found " + Json.kind(s) + " in the array");
                }
                out.add(s.asText());
            }
        } else {
            throw ApiException.invalid("stop", "'stop' must be a string or an array of strings, found " + Json.kind(v));
        }
        for (String s : out) {
            if (s.isEmpty()) {
                throw ApiException.invalid("stop", "stop strings must not be empty");
            }
        }
        return out;
    }

    private static List<ChatMessage> messages(ObjectNode b, Settings settings) {
        JsonNode arr = b.get("messages");
        if (arr == null || arr.isNull()) {
            throw ApiException.invalid("messages", "missing required parameter 'messages'");
        }
        if (!arr.isArray() || arr.isEmpty()) {
            throw ApiException.invalid("messages", "'messages' must be a non-empty array, found " + Json.kind(arr));
        }
        if (arr.size() > settings.maxMessages()) {
            throw ApiException.invalid(
                    "messages",
                    "too many messages: " + arr.size() + " (limit " + settings.maxMessages()
                            + ", rectify.limits.max-messages)");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            String where = "messages[" + i + "]";
            JsonNode m = arr.get(i);
            if (!m.isObject()) {
                throw ApiException.invalid(
                        where, "'" + where + "' must be an object with 'role' and 'content', found " + Json.kind(m));
            }
            String role = Json.string(m, "role", where + ".role", true);
            if (!ROLES.contains(role)) {
                throw ApiException.invalid(
                        where + ".role", "'" + where + ".role' must be one of " + ROLES + ", got " + Ids.quote(role));
            }
            JsonNode c = m.get("content");
            String content;
            if (c == null || c.isNull()) {
                throw ApiException.invalid(where + ".content", "missing required parameter '" + where + ".content'");
            } else if (c.isTextual()) {
                content = c.asText();
            } else if (c.isArray()) {
                StringBuilder sb = new StringBuilder();
                for (int j = 0; j < c.size(); j++) {
                    JsonNode part = c.get(j);
                    if (!part.isObject()
                            || !"text".equals(part.path("type").asText())
                            || !part.path("text").isTextual()) {
                        throw ApiException.invalid(
                                where + ".content[" + j + "]",
                                "only text content parts ({\"type\": \"text\", " + "\"text\": ...}) are supported");
                    }
                    sb.append(part.get("text").asText());
                }
                content = sb.toString();
            } else {
                throw ApiException.invalid(
                        where + ".content",
                        "'" + where + ".content' must be a string or an array of text parts, found " + Json.kind(c));
            }
            out.add(new ChatMessage(role, content));
        }
        return out;
    }
}
