package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** An OpenAI {@code text_completion} (not streamed); {@code system_fingerprint} is always null. */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record TextCompletion(
        String id,
        String object,
        long created,
        String model,
        @JsonProperty("system_fingerprint") String systemFingerprint,
        List<Choice> choices,
        Usage usage) {

    /** The one choice; {@code logprobs} is free-form and null unless asked for. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Choice(
            int index,
            String text,
            JsonNode logprobs,
            @JsonProperty("finish_reason") String finishReason) {}
}
