package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.server.StrictJson.Decimal;
import dev.rectify.server.StrictJson.Flag;
import dev.rectify.server.StrictJson.Nested;
import dev.rectify.server.StrictJson.Text;
import dev.rectify.server.StrictJson.Whole;
import io.micronaut.core.annotation.Introspected;
import io.micronaut.serde.annotation.Serdeable.Deserializable;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;

/**
 * The body of {@code POST /v1/completions} as sent: types checked while binding, single-field rules by its
 * constraints ({@code @Valid @Body}), the rest by {@link CompletionRequest}. {@code prompt} is a string or an array of exactly one string.
 */
@Deserializable
@Introspected
record TextCompletionBody(
        @NotBlank @Deserializable(using = Text.class) String model,
        @Deserializable(using = JsonTreeDeserializer.class) JsonNode prompt,

        @Min(value = 1, message = "must be 1 (only n=1 is supported)")
        @Max(value = 1, message = "must be 1 (only n=1 is supported)")
        @Deserializable(using = Whole.class)
        Long n,

        @DecimalMin(value = "0", message = "must be in [0, 2]")
        @DecimalMax(value = "2", message = "must be in [0, 2]")
        @Deserializable(using = Decimal.class)
        Double temperature,

        @JsonProperty("top_p")
        @DecimalMin(value = "0", inclusive = false, message = "must be in (0, 1]")
        @DecimalMax(value = "1", message = "must be in (0, 1]")
        @Deserializable(using = Decimal.class)
        Double topP,

        @JsonProperty("top_k") @PositiveOrZero @Max(Integer.MAX_VALUE) @Deserializable(using = Whole.class)
        Long topK,

        @JsonProperty("max_tokens") @Positive @Deserializable(using = Whole.class)
        Long maxTokens,

        @JsonProperty("max_completion_tokens") @Positive @Deserializable(using = Whole.class)
        Long maxCompletionTokens,

        @Deserializable(using = Whole.class) Long seed,
        @Deserializable(using = Flag.class) Boolean stream,

        @JsonProperty("stream_options") @Deserializable(using = Nested.class)
        StreamOptions streamOptions,

        @Deserializable(using = JsonTreeDeserializer.class) JsonNode stop,
        @Deserializable(using = Flag.class) Boolean echo,
        @Min(0) @Max(5) @Deserializable(using = Whole.class) Long logprobs,

        @JsonProperty("best_of")
        @Min(value = 1, message = "must be 1 (only best_of=1 is supported)")
        @Max(value = 1, message = "must be 1 (only best_of=1 is supported)")
        @Deserializable(using = Whole.class)
        Long bestOf)
        implements SamplingBody {}
