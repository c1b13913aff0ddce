package dev.rectify.server;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * A served adapter as the admin API shows it; {@code fine_tuning_job_id} is null for an imported one, {@code path} is
 * relative to the data folder.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.ALWAYS)
public record AdapterObject(
        String id,
        String object,
        @JsonProperty("adapter_id") String adapterId,
        String parent,
        String source,
        @JsonProperty("fine_tuning_job_id") String fineTuningJobId,
        boolean pinned,
        boolean loaded,
        long bytes,
        @JsonProperty("created_at") long createdAt,
        String path) {

    /** {@code GET /v1/admin/adapters}: every adapter, unpaged. */
    @Serdeable
    public record Listing(String object, List<AdapterObject> data) {}
}
