package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.server.db.EventRecord;
import io.micronaut.serde.annotation.Serdeable;

/** An OpenAI {@code fine_tuning.job.event}; {@code data} is free-form (metrics for a step, else empty). */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record JobEventObject(
        String id,
        String object,
        @JsonProperty("created_at") long createdAt,
        String level,
        String message,
        String type,
        JsonNode data) {

    static JobEventObject of(EventRecord e) {
        return new JobEventObject(
                e.getId(),
                "fine_tuning.job.event",
                e.getCreatedAt() / 1000,
                e.getEventLevel(),
                e.getMessage(),
                e.getEventType(),
                e.getData() == null ? Json.object() : Json.parse(e.getData()));
    }
}
