package dev.rectify.server;

import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/** {@code GET /v1/models}: OpenAI's unpaged model list. */
@Serdeable
public record ModelList(String object, List<ModelObject> data) {

    static ModelList of(List<ModelObject> models) {
        return new ModelList("list", models);
    }
}
