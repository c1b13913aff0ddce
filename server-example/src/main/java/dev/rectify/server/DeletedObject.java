package dev.rectify.server;

import io.micronaut.serde.annotation.Serdeable;

/** The answer to a delete: {@code {"id", "object", "deleted": true}}. */
@Serdeable
public record DeletedObject(String id, String object, boolean deleted) {

    static DeletedObject of(String id, String object) {
        return new DeletedObject(id, object, true);
    }
}
