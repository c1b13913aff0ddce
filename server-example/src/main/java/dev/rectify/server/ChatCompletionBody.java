package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.generate.Sampling;
import dev.rectify.server.StrictJson.Decimal;
import dev.rectify.server.StrictJson.Flag;
import dev.rectify.server.StrictJson.Indexed;
import dev.rectify.server.StrictJson.Nested;
import dev.rectify.server.StrictJson.Text;
import dev.rectify.server.StrictJson.Whole;
import io.micronaut.core.annotation.Introspected;
import io.micronaut.serde.annotation.Serdeable.Deserializable;
import jakarta.validation.Valid;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import java.util.List;

/**
 * The body of {@code POST /v1/chat/completions} as sent: types checked while binding, single-field rules by its
 * constraints ({@code @Valid @Body}), combinations and configured limits by {@link CompletionRequest}. The tool-calling fields are read only to refuse them.
 */
@Deserializable
@Introspected
record ChatCompletionBody(
        @NotBlank @Deserializable(using = Text.class) String model,

        @NotEmpty(message = "must be a non-empty array, found an empty array") @Deserializable(using = Indexed.class)
        List<@Valid Message> messages,

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
        @Deserializable(using = Flag.class) Boolean logprobs,

        @JsonProperty("top_logprobs") @Min(0) @Max(Sampling.MAX_TOP_LOGPROBS) @Deserializable(using = Whole.class)
        Long topLogprobs,

        @JsonProperty("response_format") @Deserializable(using = JsonTreeDeserializer.class)
        JsonNode responseFormat,

        @Deserializable(using = JsonTreeDeserializer.class) JsonNode tools,
        @Deserializable(using = JsonTreeDeserializer.class) JsonNode functions,

        @JsonProperty("tool_choice") @Deserializable(using = JsonTreeDeserializer.class)
        JsonNode toolChoice,

        @JsonProperty("function_call") @Deserializable(using = JsonTreeDeserializer.class)
        JsonNode functionCall)
        implements SamplingBody {

    /** One message: {@code content} is a string or an array of text parts. */
    @Deserializable
    @Introspected
    record Message(
            @NotNull @Deserializable(using = Text.class) String role,

            @Deserializable(using = JsonTreeDeserializer.class)
            JsonNode content) {}
}
