package dev.rectify.server;

import dev.rectify.server.StrictJson.Flag;
import dev.rectify.server.StrictJson.Text;
import io.micronaut.serde.annotation.Serdeable.Deserializable;

/** The body of {@code POST /v1/admin/adapters}: the new model's name and the adapter folder inside the data folder. */
@Deserializable
record AdapterLoadBody(
        @Deserializable(using = Text.class) String name,
        @Deserializable(using = Text.class) String path,
        @Deserializable(using = Flag.class) Boolean pinned) {}
