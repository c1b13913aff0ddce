package dev.rectify.bench.prior;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.cli.Charts;
import dev.rectify.core.io.AtomicFile;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes the prior-strength experiment's outputs: {@code results.json} (every run, per problem, and the statistics),
 * {@code results.md} (the tables the report quotes), one accuracy-versus-prior plot per evaluation set (means with
 * 95 % intervals, a fixed colour per method) and one token-probability histogram per base.
 */
public final class PriorStrengthReport {
    private final ExperimentResults results;

    public PriorStrengthReport(ExperimentResults results) {
        this.results = results;
    }

    /**
     * Renders the report of an earlier run again from its {@code results.json}, without training or evaluating:
     * {@code java -cp ... dev.rectify.bench.prior.PriorStrengthReport docs/experiments/prior-strength}.
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: PriorStrengthReport <folder holding results.json>");
        }
        Path out = Path.of(args[0]);
        new PriorStrengthReport(ExperimentResults.read(out.resolve("results.json"))).write(out);
    }

    /** Writes every output into {@code out}. */
    public void write(Path out) throws IOException {
        Files.createDirectories(out);
        ObjectNode stats = results.statistics();
        ObjectNode hist = results.json().putObject("token_probability_histograms");
        results.histograms().forEach((base, byMethod) -> {
            ObjectNode b = hist.putObject(base);
            byMethod.forEach((m, shares) -> shares.forEach(b.putArray(m)::add));
        });
        ObjectMapper json = new ObjectMapper();
        AtomicFile.write(
                out.resolve("results.json"),
                json.writerWithDefaultPrettyPrinter().writeValueAsBytes(results.json()));
        AtomicFile.write(out.resolve("results.md"), markdown(stats).getBytes(StandardCharsets.UTF_8));
        for (String set : ExperimentResults.SETS) {
            accuracyPlot(stats, set, out.resolve("accuracy_vs_prior_" + set + ".png"));
        }
        for (var e : results.histograms().entrySet()) {
            Charts.tokenProbabilityShares(e.getValue(), out.resolve("token_probabilities_" + e.getKey() + ".png"));
        }
    }

    /** The tables: bases, exact match with intervals per set, and each method minus SFT (paired). */
    String markdown(ObjectNode stats) {
        Map<String, String> bases = results.baseLabels();
        StringBuilder md = new StringBuilder();
        md.append("<!-- written by dev.rectify.bench.prior.PriorStrengthExperiment; do not edit -->\n\n");
        md.append(
                "### Bases\n\n| base | pretraining budget | held-out pretraining loss | base EM in / near / far |\n|---|---|---|---|\n");
        for (JsonNode b : results.json().get("bases")) {
            String name = b.path("name").asText();
            md.append(String.format(
                    Locale.ROOT,
                    "| %s | %s (%d steps) | %s | %s |%n",
                    name,
                    b.path("label").asText(),
                    b.path("pretraining_steps").asInt(),
                    b.has("pretraining_heldout_loss")
                            ? String.format(
                                    Locale.ROOT,
                                    "%.4f",
                                    b.path("pretraining_heldout_loss").asDouble())
                            : "—",
                    String.join(
                            " / ",
                            ExperimentResults.SETS.stream()
                                    .map(s -> pct(stats.path(name)
                                            .path(s)
                                            .path("base")
                                            .path("mean")
                                            .asDouble()))
                                    .toList())));
        }
        for (String set : ExperimentResults.SETS) {
            md.append("\n### Exact match, ")
                    .append(set)
                    .append(" (mean over seeds [95 % bootstrap interval])\n\n| base |");
            List<String> methods = results.methods();
            methods.forEach(m -> md.append(' ').append(m).append(" |"));
            md.append("\n|---|");
            methods.forEach(m -> md.append("---|"));
            md.append('\n');
            for (String base : bases.keySet()) {
                md.append("| ").append(bases.get(base)).append(" |");
                for (String m : methods) {
                    JsonNode v = stats.path(base).path(set).path(m);
                    md.append(' ')
                            .append(
                                    v.has("low")
                                            ? String.format(
                                                    Locale.ROOT,
                                                    "%s [%s, %s]",
                                                    pct(v.path("mean").asDouble()),
                                                    pct(v.path("low").asDouble()),
                                                    pct(v.path("high").asDouble()))
                                            : v.has("mean") ? pct(v.path("mean").asDouble()) : "—")
                            .append(" |");
                }
                md.append('\n');
            }
        }
        md.append(
                        "\n### Each method minus SFT, paired by seed and problem (percentage points [95 % interval], permutation p, ")
                .append(
                        "problems won / lost)\n\n| base | set | method | difference | p | won / lost | verdict |\n|---|---|---|---|---|---|---|\n");
        for (String base : bases.keySet()) {
            for (String set : ExperimentResults.SETS) {
                for (String m : results.methods()) {
                    JsonNode d = stats.path(base).path(set).path(m).path("minus_sft");
                    if (d.isMissingNode()) {
                        continue;
                    }
                    md.append(String.format(
                            Locale.ROOT,
                            "| %s | %s | %s | %+.1f [%+.1f, %+.1f] | %.3f | %d / %d | %s |%n",
                            bases.get(base),
                            set,
                            m,
                            100 * d.path("difference").asDouble(),
                            100 * d.path("low").asDouble(),
                            100 * d.path("high").asDouble(),
                            d.path("p_value").asDouble(),
                            d.path("wins").asInt(),
                            d.path("losses").asInt(),
                            verdict(d)));
                }
            }
        }
        md.append(
                "\n### Learning rates chosen by the search (validation exact match, first seed)\n\n| base | method | learning rate |\n|---|---|---|\n");
        for (String base : bases.keySet()) {
            for (String m : results.methods()) {
                if (!m.equals("base")) {
                    md.append(String.format(
                            Locale.ROOT,
                            "| %s | %s | %.0e |%n",
                            bases.get(base),
                            m,
                            results.chosenLearningRate(base, m)));
                }
            }
        }
        return md.toString();
    }

    /** Wins when the whole interval is above zero, loses when below, ties otherwise. */
    static String verdict(JsonNode d) {
        if (d.path("low").asDouble() > 0) {
            return "wins";
        }
        return d.path("high").asDouble() < 0 ? "loses" : "tie";
    }

    /**
     * Exact match against the pretraining budget, one line per method through the bases that saw the chat format, and
     * the bases that never did as separate points at the right (they are not a step on the budget axis).
     */
    private void accuracyPlot(ObjectNode stats, String set, Path file) throws IOException {
        List<String> bases = new ArrayList<>();
        results.baseLabels().keySet().stream()
                .filter(b -> !results.withoutChatFormat(b))
                .forEach(bases::add);
        int budgetLine = bases.size();
        results.baseLabels().keySet().stream()
                .filter(results::withoutChatFormat)
                .forEach(bases::add);
        List<String> labels =
                bases.stream().map(b -> results.baseLabels().get(b)).toList();
        XYChart c = new XYChartBuilder()
                .width(900)
                .height(560)
                .title("Exact match " + set + " vs the base's prior")
                .xAxisTitle("base (pretraining budget)")
                .yAxisTitle("exact match")
                .build();
        var st = c.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(Styler.LegendPosition.OutsideE);
        // the base names are written into the plot under each column: XChart's custom tick labels go only to
        // ticks at the axis ends once the range is set
        st.setXAxisMin(-0.5);
        st.setXAxisMax(bases.size() - 0.5);
        st.setYAxisMin(-0.08);
        st.setYAxisMax(1.0);
        st.setXAxisTicksVisible(false);
        for (int b = 0; b < labels.size(); b++) {
            c.addAnnotation(new AnnotationText(labels.get(b), b, -0.045, false));
        }
        List<String> methods = results.methods();
        for (int mi = 0; mi < methods.size(); mi++) {
            String m = methods.get(mi);
            double offset = (mi - (methods.size() - 1) / 2.0) * 0.06;
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (int b = 0; b < bases.size(); b++) {
                JsonNode v = stats.path(bases.get(b)).path(set).path(m);
                if (!v.has("mean")) {
                    continue;
                }
                double x = b + offset;
                double y = v.path("mean").asDouble();
                if (b < budgetLine) {
                    xs.add(x);
                    ys.add(y);
                } else {
                    XYSeries point = c.addSeries(m + " " + bases.get(b), List.of(x), List.of(y));
                    point.setMarkerColor(Charts.colour(m));
                    point.setMarker(SeriesMarkers.DIAMOND);
                    point.setShowInLegend(false);
                }
                if (v.has("low")) {
                    XYSeries bar = c.addSeries(
                            m + " interval " + b,
                            List.of(x, x),
                            List.of(v.path("low").asDouble(), v.path("high").asDouble()));
                    bar.setLineColor(Charts.colour(m));
                    bar.setMarker(SeriesMarkers.NONE);
                    bar.setLineStyle(new BasicStroke(2f));
                    bar.setShowInLegend(false);
                }
            }
            if (!xs.isEmpty()) {
                XYSeries s = c.addSeries(m, xs, ys);
                s.setLineColor(Charts.colour(m));
                s.setMarkerColor(Charts.colour(m));
                s.setMarker(SeriesMarkers.CIRCLE);
            }
        }
        BitmapEncoder.saveBitmap(c, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f %%", 100 * v);
    }
}
