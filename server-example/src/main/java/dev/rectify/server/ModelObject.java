package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.rectify.server.db.AdapterRecord;
import io.micronaut.serde.annotation.Serdeable;

/** An OpenAI {@code model} object; {@code parent} is null for the base model. */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record ModelObject(
        String id,
        String object,
        long created,
        @JsonProperty("owned_by") String ownedBy,
        String root,
        String parent) {

    /** The base model, served since {@code createdSeconds}. */
    static ModelObject base(String name, long createdSeconds) {
        return new ModelObject(name, "model", createdSeconds, "rectify", name, null);
    }

    /** A fine-tuned or imported model on top of its base. */
    static ModelObject adapter(AdapterRecord r) {
        return new ModelObject(
                r.getName(), "model", r.getCreatedAt() / 1000, "rectify", r.getBaseModel(), r.getBaseModel());
    }
}
