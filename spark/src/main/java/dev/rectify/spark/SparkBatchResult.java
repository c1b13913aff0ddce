package dev.rectify.spark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The outcome of a Spark batch: one {@link EntryResult} per manifest entry, a table and a one-line summary. */
public record SparkBatchResult(List<EntryResult> entries, double seconds) {
    public SparkBatchResult {
        entries = List.copyOf(entries);
    }

    /** Entries with {@code status} ({@link EntryResult#DONE}, {@link EntryResult#SKIPPED}, {@link EntryResult#FAILED}). */
    public long count(String status) {
        return entries.stream().filter(e -> e.status().equals(status)).count();
    }

    /** The entry named {@code name}. */
    public EntryResult entry(String name) {
        return entries.stream()
                .filter(e -> e.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no entry " + name + " in " + entries));
    }

    /** For example {@code rectify-spark: 3 fine-tunes: 2 done, 1 skipped (already done), 0 failed, in 41.2s}. */
    public String summaryLine() {
        return String.format(
                Locale.ROOT,
                "rectify-spark: %d fine-tunes: %d done, %d skipped (already done), %d failed, in %.1fs",
                entries.size(),
                count(EntryResult.DONE),
                count(EntryResult.SKIPPED),
                count(EntryResult.FAILED),
                seconds);
    }

    /** One row per entry (id, status, adapter id, steps, final loss, seconds, output or error), then the summary line. */
    public String table() {
        List<String[]> rows = new ArrayList<>();
        rows.add(
                new String[] {"entry", "status", "adapter", "steps", "final loss", "time", "where", "output or error"});
        for (EntryResult e : entries) {
            String steps = e.steps() < 0
                    ? "-"
                    : e.resumedAt() >= 0
                            ? e.steps() + " (resumed at " + e.resumedAt() + ")"
                            : String.valueOf(e.steps());
            rows.add(new String[] {
                e.name(),
                e.status(),
                e.adapterId() == null ? "-" : e.adapterId().substring(0, 16),
                steps,
                Double.isNaN(e.finalLoss()) ? "-" : String.format(Locale.ROOT, "%.5f", e.finalLoss()),
                String.format(Locale.ROOT, "%.1fs", e.seconds()),
                e.where(),
                e.error() != null ? e.error() : e.output()
            });
        }
        int[] w = new int[rows.get(0).length - 1];
        for (String[] row : rows) {
            for (int i = 0; i < w.length; i++) {
                w[i] = Math.max(w[i], row[i].length());
            }
        }
        StringBuilder s = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < w.length; i++) {
                line.append(String.format("%-" + w[i] + "s  ", row[i]));
            }
            s.append(line.append(row[w.length]).toString().stripTrailing()).append('\n');
        }
        return s.append(summaryLine()).append('\n').toString();
    }

    /** Writes the entries as JSON to {@code file}, atomically. */
    public void write(Path file) {
        ObjectMapper json = new ObjectMapper();
        ArrayNode arr = json.createArrayNode();
        for (EntryResult e : entries) {
            ObjectNode n = arr.addObject();
            n.put("job", e.name());
            n.put("line", e.line());
            n.put("status", e.status());
            if (e.adapterId() != null) {
                n.put("adapter_id", e.adapterId());
            }
            if (e.steps() >= 0) {
                n.put("steps", e.steps());
            }
            if (e.resumedAt() >= 0) {
                n.put("resumed_at_step", e.resumedAt());
            }
            if (!Double.isNaN(e.finalLoss())) {
                n.put("final_loss", e.finalLoss());
            }
            n.put("seconds", Math.round(e.seconds() * 1000) / 1000.0);
            n.put("where", e.where());
            n.put("output", e.output());
            if (e.error() != null) {
                n.put("error", e.error());
            }
        }
        try {
            AtomicFile.write(file, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(arr));
        } catch (IOException e) {
            throw new RectifyException("cannot write the summary " + file + ": " + e.getMessage(), e);
        }
    }
}
