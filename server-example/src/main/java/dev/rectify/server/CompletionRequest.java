package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
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

    /** Checks a chat completion body: required fields, ranges, and what this server does not support. */
    static CompletionRequest chat(ChatCompletionBody b, Settings settings) {
        checkModel(b);
        List<ChatMessage> messages = messages(b.messages(), settings);
        for (String unsupported : List.of("tools", "functions", "tool_choice", "function_call")) {
            JsonNode v = switch (unsupported) {
                case "tools" -> b.tools();
                case "functions" -> b.functions();
                case "tool_choice" -> b.toolChoice();
                default -> b.functionCall();
            };
            if (v != null
                    && !v.isNull()
                    && !(v.isArray() && v.isEmpty())
                    && !(v.isTextual() && v.asText().equals("none"))) {
                throw ApiException.invalid(unsupported, "'" + unsupported + "' (tool calling) is not supported");
            }
        }
        JsonNode rf = b.responseFormat();
        if (rf != null && !rf.isNull() && !rf.isObject()) {
            throw ApiException.invalid(
                    "response_format", "'response_format' must be an object, found " + Json.kind(rf));
        }
        if (rf != null && rf.isObject() && !"text".equals(rf.path("type").asText("text"))) {
            throw ApiException.invalid("response_format", "only response_format {\"type\": \"text\"} is supported");
        }
        Integer top = b.topLogprobs() == null ? null : b.topLogprobs().intValue();
        int logprobs = -1;
        if (b.logprobs() == Boolean.TRUE) {
            logprobs = top == null ? 0 : top;
        } else if (top != null) {
            throw ApiException.invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true");
        }
        return checked(b, messages, null, logprobs, settings);
    }

    /** Checks a (legacy) completion body. */
    static CompletionRequest text(TextCompletionBody b, Settings settings) {
        checkModel(b);
        JsonNode p = b.prompt();
        String prompt;
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
        if (b.echo() == Boolean.TRUE) {
            throw ApiException.invalid("echo", "'echo' is not supported");
        }
        return checked(b, null, prompt, b.logprobs() == null ? -1 : b.logprobs().intValue(), settings);
    }

    private static CompletionRequest checked(
            SamplingBody b, List<ChatMessage> messages, String prompt, int logprobs, Settings settings) {
        String model = b.model();
        Double temperature = b.temperature();
        Double topP = b.topP();
        Long topK = b.topK();
        Integer maxTokens = atMostLimit(b.maxTokens(), "max_tokens", settings);
        Integer maxCompletion = atMostLimit(b.maxCompletionTokens(), "max_completion_tokens", settings);
        boolean stream = b.stream() == Boolean.TRUE;
        boolean includeUsage = b.streamOptions() != null && b.streamOptions().includeUsage() == Boolean.TRUE;
        List<String> stop = stop(b.stop());
        if (logprobs >= 0 && stream) {
            throw ApiException.invalid(
                    "logprobs", "'logprobs' is not supported with 'stream': true; ask without streaming");
        }
        int max = maxCompletion != null ? maxCompletion : maxTokens != null ? maxTokens : settings.defaultMaxTokens();
        try {
            Sampling s = Sampling.sample(temperature == null ? 1.0 : temperature)
                    .topP(topP == null ? 1.0 : topP)
                    .topK(topK == null ? 0 : topK.intValue())
                    .seed(b.seed() != null ? b.seed() : SEEDS.nextLong())
                    .maxNewTokens(max)
                    .stop(stop)
                    .logprobs(logprobs);
            return new CompletionRequest(model, messages, prompt, s, stream, includeUsage);
        } catch (InvalidArgumentException e) {
            throw ApiException.invalid(null, e.getMessage());
        }
    }

    private static void checkModel(SamplingBody b) {
        Ids.checkModel(b.model(), "model");
    }

    /**
     * {@code v} (already checked positive by its constraint) checked against the configured limit, or null when not
     * given; the limit is a setting, so no annotation can state it.
     */
    private static Integer atMostLimit(Long v, String param, Settings settings) {
        if (v == null) {
            return null;
        }
        if (v > settings.maxTokensLimit()) {
            throw ApiException.invalid(
                    param, "'" + param + "' must be in [1, " + settings.maxTokensLimit() + "], got " + v);
        }
        return v.intValue();
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

    private static List<ChatMessage> messages(List<ChatCompletionBody.Message> arr, Settings settings) {
        if (arr.size() > settings.maxMessages()) {
            throw ApiException.invalid(
                    "messages",
                    "too many messages: " + arr.size() + " (limit " + settings.maxMessages()
                            + ", rectify.limits.max-messages)");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            String where = "messages[" + i + "]";
            ChatCompletionBody.Message m = arr.get(i);
            String role = m.role();
            if (!ROLES.contains(role)) {
                throw ApiException.invalid(
                        where + ".role", "'" + where + ".role' must be one of " + ROLES + ", got " + Ids.quote(role));
            }
            JsonNode c = m.content();
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
