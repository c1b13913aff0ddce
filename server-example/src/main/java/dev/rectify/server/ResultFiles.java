package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.server.db.EventRecord;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A finished job's result file, as OpenAI writes it: {@code step_metrics.csv}, one row per optimizer step with the
 * training loss and, where the job evaluated a validation file at that step, the validation loss and token accuracy;
 * the last row also has the final full validation metrics. Built from the job's metrics events (so a job resumed after
 * a pause or a restart has every step), stored as a file of purpose {@code fine-tune-results}.
 */
@Singleton
public class ResultFiles {
    /** The CSV's columns: OpenAI's names where OpenAI has the metric, then the trainer's own. */
    static final List<String> COLUMNS = List.of(
            "step",
            "train_loss",
            "valid_loss",
            "valid_mean_token_accuracy",
            "full_valid_loss",
            "full_valid_mean_token_accuracy",
            "train_nll",
            "learning_rate",
            "grad_norm",
            "epoch");

    private final JobEvents events;
    private final FileService files;

    public ResultFiles(JobEvents events, FileService files) {
        this.events = events;
        this.files = files;
    }

    /** Writes job {@code jobId}'s metrics CSV and returns its file id. {@code last}: the final metrics, or null. */
    public String write(String jobId, ObjectNode last) {
        return files.storeResult(
                        "step_metrics.csv",
                        csv(
                                        events.eventRepository()
                                                .findByJobIdAndSeqGreaterThanOrderBySeq(jobId, Long.MIN_VALUE),
                                        last)
                                .getBytes(StandardCharsets.UTF_8))
                .getId();
    }

    /** The CSV of the metrics events (in order), with {@code last}'s full validation metrics on the last step's row. */
    static String csv(List<EventRecord> metricsEvents, ObjectNode last) {
        Map<Integer, ObjectNode> rows = new TreeMap<>();
        for (EventRecord e : metricsEvents) {
            if (!"metrics".equals(e.getEventType()) || e.getData() == null) {
                continue;
            }
            JsonNode d = Json.parse(e.getData());
            int step = d.path("step").asInt();
            // a step done again after a resume replaces the earlier row's values
            rows.computeIfAbsent(step, s -> Json.object()).setAll((ObjectNode) d);
        }
        if (last != null && last.has("step")) {
            ObjectNode row = rows.computeIfAbsent(last.get("step").asInt(), s -> Json.object());
            row.put("step", last.get("step").asInt());
            for (String f : List.of("full_valid_loss", "full_valid_mean_token_accuracy")) {
                if (last.has(f)) {
                    row.set(f, last.get(f));
                }
            }
        }
        StringBuilder sb = new StringBuilder(String.join(",", COLUMNS)).append('\n');
        for (ObjectNode row : rows.values()) {
            for (int i = 0; i < COLUMNS.size(); i++) {
                JsonNode v = row.get(COLUMNS.get(i));
                if (i > 0) {
                    sb.append(',');
                }
                if (v != null && v.isNumber() && Double.isFinite(v.asDouble())) {
                    sb.append(v.isIntegralNumber() ? Long.toString(v.asLong()) : Double.toString(v.asDouble()));
                }
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
