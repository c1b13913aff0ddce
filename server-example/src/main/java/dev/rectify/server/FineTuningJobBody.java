package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.server.StrictJson.Nested;
import dev.rectify.server.StrictJson.Text;
import dev.rectify.server.StrictJson.Whole;
import io.micronaut.core.annotation.Introspected;
import io.micronaut.serde.annotation.Serdeable.Deserializable;
import jakarta.validation.constraints.NotBlank;

/**
 * The body of {@code POST /v1/fine_tuning/jobs} as sent (types checked; {@link JobSpec} checks the method and the
 * hyperparameters, an open map of "auto" or values, and {@link JobService} the rest).
 */
@Deserializable
@Introspected
record FineTuningJobBody(
        @NotBlank @Deserializable(using = Text.class) String model,

        @JsonProperty("training_file") @NotBlank @Deserializable(using = Text.class)
        String trainingFile,

        @JsonProperty("validation_file") @Deserializable(using = Text.class)
        String validationFile,

        @Deserializable(using = Text.class) String suffix,
        @Deserializable(using = Whole.class) Long seed,
        @Deserializable(using = Nested.class) Method method,
        @Deserializable(using = JsonTreeDeserializer.class) JsonNode hyperparameters,
        @Deserializable(using = JsonTreeDeserializer.class) JsonNode metadata) {

    /** {@code method: {type, supervised|dft: {hyperparameters}}}. */
    @Deserializable
    @Introspected
    record Method(
            @Deserializable(using = Text.class) String type,
            @Deserializable(using = Nested.class) MethodSettings supervised,
            @Deserializable(using = Nested.class) MethodSettings dft) {

        /** The settings of the method named by {@code type}, or null. */
        MethodSettings of(String methodType) {
            return methodType.equals("dft") ? dft : methodType.equals("supervised") ? supervised : null;
        }
    }

    /** A method's settings. */
    @Deserializable
    @Introspected
    record MethodSettings(
            @Deserializable(using = JsonTreeDeserializer.class)
            JsonNode hyperparameters) {}
}
