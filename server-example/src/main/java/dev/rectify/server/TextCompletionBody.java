package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.server.StrictJson.Decimal;
import dev.rectify.server.StrictJson.Flag;
import dev.rectify.server.StrictJson.Nested;
import dev.rectify.server.StrictJson.Text;
import dev.rectify.server.StrictJson.Whole;
import io.micronaut.serde.annotation.Serdeable.Deserializable;

/**
 * The body of {@code POST /v1/completions} as sent (types checked, values not yet: {@link CompletionRequest} checks
 * them). {@code prompt} is a string or an array of exactly one string.
 */
@Deserializable
record TextCompletionBody(
        @Deserializable(using = Text.class) String model,
        @Deserializable(using = JsonTreeDeserializer.class) JsonNode prompt,
        @Deserializable(using = Whole.class) Long n,
        @Deserializable(using = Decimal.class) Double temperature,

        @JsonProperty("top_p") @Deserializable(using = Decimal.class)
        Double topP,

        @JsonProperty("top_k") @Deserializable(using = Whole.class)
        Long topK,

        @JsonProperty("max_tokens") @Deserializable(using = Whole.class)
        Long maxTokens,

        @JsonProperty("max_completion_tokens") @Deserializable(using = Whole.class)
        Long maxCompletionTokens,

        @Deserializable(using = Whole.class) Long seed,
        @Deserializable(using = Flag.class) Boolean stream,

        @JsonProperty("stream_options") @Deserializable(using = Nested.class)
        StreamOptions streamOptions,

        @Deserializable(using = JsonTreeDeserializer.class) JsonNode stop,
        @Deserializable(using = Flag.class) Boolean echo,
        @Deserializable(using = Whole.class) Long logprobs,

        @JsonProperty("best_of") @Deserializable(using = Whole.class)
        Long bestOf)
        implements SamplingBody {}
