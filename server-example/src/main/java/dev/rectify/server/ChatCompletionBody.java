package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.server.StrictJson.Decimal;
import dev.rectify.server.StrictJson.Flag;
import dev.rectify.server.StrictJson.Indexed;
import dev.rectify.server.StrictJson.Nested;
import dev.rectify.server.StrictJson.Text;
import dev.rectify.server.StrictJson.Whole;
import io.micronaut.serde.annotation.Serdeable.Deserializable;
import java.util.List;

/**
 * The body of {@code POST /v1/chat/completions} as sent (types checked, values not yet: {@link CompletionRequest}
 * checks ranges and combinations). The tool-calling fields are read only to refuse them.
 */
@Deserializable
record ChatCompletionBody(
        @Deserializable(using = Text.class) String model,
        @Deserializable(using = Indexed.class) List<Message> messages,
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
        @Deserializable(using = Flag.class) Boolean logprobs,

        @JsonProperty("top_logprobs") @Deserializable(using = Whole.class)
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
    record Message(
            @Deserializable(using = Text.class) String role,

            @Deserializable(using = JsonTreeDeserializer.class)
            JsonNode content) {}
}
