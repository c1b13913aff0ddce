package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * One SSE chunk of a streamed completion ({@code chat.completion.chunk} or {@code text_completion}). {@code usage} is
 * left out unless the client asked for it ({@code stream_options.include_usage}); then it is JSON null on every chunk
 * but the last, which carries the counts and no choices.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record CompletionChunk(
        String id,
        String object,
        long created,
        String model,
        @JsonProperty("system_fingerprint") String systemFingerprint,
        List<Choice> choices,
        @JsonInclude(JsonInclude.Include.NON_NULL) JsonNode usage) {

    /** A chat chunk's {@code delta} or a text chunk's {@code text}; {@code logprobs} is always null when streaming. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Choice(
            int index,
            @JsonInclude(JsonInclude.Include.NON_NULL) Delta delta,
            @JsonInclude(JsonInclude.Include.NON_NULL) String text,
            JsonNode logprobs,
            @JsonProperty("finish_reason") String finishReason) {}

    /** What a chat chunk adds: the role (first chunk only) and the text; the last chunk's delta is empty. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content) {}
}
