package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.rectify.generate.Generation;
import io.micronaut.serde.annotation.Serdeable;

/** A completion's token counts. */
@Serdeable
public record Usage(
        @JsonProperty("prompt_tokens") int promptTokens,
        @JsonProperty("completion_tokens") int completionTokens,
        @JsonProperty("total_tokens") int totalTokens) {

    static Usage of(Generation g) {
        return new Usage(g.promptTokens(), g.completionTokens(), g.promptTokens() + g.completionTokens());
    }
}
