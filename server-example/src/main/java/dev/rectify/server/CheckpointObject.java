package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.server.db.CheckpointRecord;
import io.micronaut.serde.annotation.Serdeable;

/** An OpenAI {@code fine_tuning.job.checkpoint}; {@code metrics} is free-form. */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record CheckpointObject(
        String id,
        String object,
        @JsonProperty("created_at") long createdAt,
        @JsonProperty("fine_tuned_model_checkpoint") String fineTunedModelCheckpoint,
        @JsonProperty("fine_tuning_job_id") String fineTuningJobId,
        @JsonProperty("step_number") int stepNumber,
        JsonNode metrics) {

    static CheckpointObject of(CheckpointRecord c) {
        return new CheckpointObject(
                c.getId(),
                "fine_tuning.job.checkpoint",
                c.getCreatedAt() / 1000,
                c.getCheckpointModel(),
                c.getJobId(),
                c.getStepNumber(),
                Json.parse(c.getMetrics()));
    }
}
