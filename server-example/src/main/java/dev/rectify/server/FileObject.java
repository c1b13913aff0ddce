package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.rectify.server.db.FileRecord;
import io.micronaut.serde.annotation.Serdeable;

/**
 * An OpenAI {@code file} object; {@code expires_at} is always null, {@code examples} (the number of training
 * examples, a Rectify extra) is left out for result files.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record FileObject(
        String id,
        String object,
        long bytes,
        @JsonProperty("created_at") long createdAt,
        String filename,
        String purpose,
        String status,
        @JsonProperty("expires_at") Long expiresAt,
        @JsonInclude(JsonInclude.Include.NON_NULL) Integer examples) {

    static FileObject of(FileRecord r) {
        return new FileObject(
                r.getId(),
                "file",
                r.getBytes(),
                r.getCreatedAt() / 1000,
                r.getFilename(),
                r.getPurpose(),
                "processed",
                null,
                FileService.RESULTS_PURPOSE.equals(r.getPurpose()) ? null : r.getExamples());
    }
}
