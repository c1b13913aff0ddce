package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;

/** The sampling fields both completion bodies share ({@link ChatCompletionBody}, {@link TextCompletionBody}). */
interface SamplingBody {
    String model();

    Long n();

    Double temperature();

    Double topP();

    Long topK();

    Long maxTokens();

    Long maxCompletionTokens();

    Long seed();

    Boolean stream();

    StreamOptions streamOptions();

    /** A string or an array of strings. */
    JsonNode stop();
}
