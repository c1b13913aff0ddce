package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.server.db.JobRecord;
import io.micronaut.serde.annotation.Serdeable;
import java.util.Arrays;
import java.util.List;

/**
 * An OpenAI {@code fine_tuning.job} object. The hyperparameters echo, {@code method} (keyed by its type) and
 * {@code metadata} are free-form JSON; {@code progress} (a Rectify extra) is left out before the first step.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record FineTuningJobObject(
        String id,
        String object,
        String model,
        @JsonProperty("created_at") long createdAt,
        @JsonProperty("finished_at") Long finishedAt,
        @JsonProperty("fine_tuned_model") String fineTunedModel,
        @JsonProperty("organization_id") String organizationId,
        @JsonProperty("result_files") List<String> resultFiles,
        String status,
        @JsonProperty("validation_file") String validationFile,
        @JsonProperty("training_file") String trainingFile,
        JsonNode hyperparameters,
        JsonNode method,
        @JsonProperty("trained_tokens") Long trainedTokens,
        JobError error,
        long seed,
        @JsonProperty("estimated_finish") Long estimatedFinish,
        JsonNode metadata,
        List<Object> integrations,
        @JsonProperty("user_provided_suffix") String userProvidedSuffix,
        @JsonInclude(JsonInclude.Include.NON_NULL) Progress progress) {

    /** Why a job failed. */
    @Serdeable
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record JobError(String code, String message, String param) {}

    /** The last step reached out of the total. */
    @Serdeable
    public record Progress(
            int step, @JsonProperty("total_steps") Integer totalSteps) {}

    static FineTuningJobObject of(JobRecord j) {
        JobStatus status = JobStatus.of(j.getStatus());
        JobSpec spec = JobSpec.fromJson(j.getHyperparameters());
        ObjectNode hp = spec.hyperparametersJson();
        ObjectNode method = Json.object();
        method.put("type", spec.methodType());
        method.putObject(spec.methodType()).set("hyperparameters", hp.deepCopy());
        List<String> results = j.getResultFiles() == null || j.getResultFiles().isEmpty()
                ? List.of()
                : Arrays.asList(j.getResultFiles().split(","));
        return new FineTuningJobObject(
                j.getId(),
                "fine_tuning.job",
                j.getModel(),
                j.getCreatedAt() / 1000,
                j.getFinishedAt() == null ? null : j.getFinishedAt() / 1000,
                j.getFineTunedModel(),
                "org-rectify",
                results,
                status.wire(),
                j.getValidationFile(),
                j.getTrainingFile(),
                hp,
                method,
                j.getTrainedTokens(),
                j.getErrorMessage() == null
                        ? null
                        : new JobError(j.getErrorCode(), j.getErrorMessage(), j.getErrorParam()),
                j.getSeed(),
                j.getEstimatedFinish() != null && status == JobStatus.RUNNING
                        ? (j.getEstimatedFinish() + 999) / 1000
                        : null,
                j.getMetadata() == null ? null : Json.parse(j.getMetadata()),
                List.of(),
                j.getSuffix(),
                j.getLastStep() == null ? null : new Progress(j.getLastStep(), j.getTotalSteps()));
    }
}
