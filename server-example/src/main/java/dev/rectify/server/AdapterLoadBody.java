package dev.rectify.server;

import dev.rectify.server.StrictJson.Flag;
import dev.rectify.server.StrictJson.Text;
import io.micronaut.core.annotation.Introspected;
import io.micronaut.serde.annotation.Serdeable.Deserializable;
import jakarta.validation.constraints.NotBlank;

/** The body of {@code POST /v1/admin/adapters}: the new model's name and the adapter folder inside the data folder. */
@Deserializable
@Introspected
record AdapterLoadBody(
        @NotBlank @Deserializable(using = Text.class) String name,
        @NotBlank @Deserializable(using = Text.class) String path,
        @Deserializable(using = Flag.class) Boolean pinned) {}
