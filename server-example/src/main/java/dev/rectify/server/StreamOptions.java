package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.rectify.server.StrictJson.Flag;
import io.micronaut.serde.annotation.Serdeable.Deserializable;

/** {@code stream_options}. */
@Deserializable
record StreamOptions(
        @JsonProperty("include_usage") @Deserializable(using = Flag.class)
        Boolean includeUsage) {}
