package dev.rectify.bench.prior;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.cli.Charts;
import dev.rectify.core.Objective;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the prior-strength experiment measured: the bases, the learning-rate search, every run's per-problem
 * outcomes and the token probabilities, plus the statistics computed from them ({@link #statistics()}).
 */
public final class ExperimentResults {
    /** Evaluation set names, in order of distance from the training distribution. */
    public static final String IN = "in-distribution";

    public static final String NEAR = "near-ood";
    public static final String FAR = "far-ood";
    static final List<String> SETS = List.of(IN, NEAR, FAR);

    private static final ObjectMapper JSON = new ObjectMapper();
    private final ObjectNode root;
    private final Map<String, Map<String, List<Double>>> histograms = new LinkedHashMap<>();

    ExperimentResults(ExperimentSettings settings) {
        root = JSON.createObjectNode();
        ObjectNode s = root.putObject("settings");
        s.put("seeds", settings.seeds());
        s.put("first_seed", ExperimentSettings.FIRST_SEED);
        ArrayNode methods = s.putArray("methods");
        settings.methods().forEach(o -> methods.add(label(o)));
        ArrayNode rates = s.putArray("learning_rates");
        settings.learningRates().forEach(rates::add);
        s.put("train_limit", settings.trainLimit());
        s.put("eval_limit", settings.evalLimit());
        s.put("max_new_tokens", settings.maxNewTokens());
        s.put("epochs", settings.epochs());
        s.put("lora_rank", settings.loraRank());
        s.put("threads", settings.threads());
        root.putArray("bases");
        root.putArray("search");
        root.putArray("runs");
    }

    private ExperimentResults(ObjectNode root) {
        this.root = root;
        root.path("token_probability_histograms")
                .properties()
                .forEach(base -> base.getValue().properties().forEach(m -> {
                    List<Double> shares = new ArrayList<>();
                    m.getValue().forEach(v -> shares.add(v.asDouble()));
                    histograms
                            .computeIfAbsent(base.getKey(), k -> new LinkedHashMap<>())
                            .put(m.getKey(), shares);
                }));
    }

    /** The record an earlier run wrote ({@code results.json}), to render its report again without running. */
    public static ExperimentResults read(Path resultsJson) throws IOException {
        return new ExperimentResults((ObjectNode) JSON.readTree(resultsJson.toFile()));
    }

    /** The name a method has in tables, files and plots (its colour follows it in every figure). */
    public static String label(Objective o) {
        return switch (o.kind()) {
            case SFT -> "SFT";
            case DFT -> "DFT";
            case DFT_CLAMPED -> "DFT-clamped(" + o.parameter() + ")";
            case MIX -> "mix(" + o.parameter() + ")";
        };
    }

    void addBase(PriorBase base, Path dir) throws IOException {
        ObjectNode b = ((ArrayNode) root.get("bases")).addObject();
        b.put("name", base.name());
        b.put("label", base.label());
        b.put("pretraining_steps", base.steps());
        b.put("chat_share", base.chatShare());
        for (Path log :
                List.of(dir.resolve("pretrain-log.json"), dir.resolve("recipe").resolve("pretrain-log.json"))) {
            if (Files.isRegularFile(log)) {
                JsonNode l = JSON.readTree(log.toFile());
                b.put("pretraining_heldout_loss", l.path("final_heldout_loss").asDouble());
                b.put("pretraining_device", l.path("device").asText());
                break;
            }
        }
    }

    void addSearch(String base, String method, double lr, ObjectNode validation) {
        ObjectNode n = ((ArrayNode) root.get("search")).addObject();
        n.put("base", base);
        n.put("method", method);
        n.put("lr", lr);
        n.set("validation", validation);
    }

    void addRun(String base, String method, long seed, double lr, ObjectNode outcome) {
        ObjectNode n = ((ArrayNode) root.get("runs")).addObject();
        n.put("base", base);
        n.put("method", method);
        n.put("seed", seed);
        n.put("lr", lr);
        n.setAll(outcome);
    }

    void addProbabilities(String base, String method, double[] p) {
        histograms.computeIfAbsent(base, k -> new LinkedHashMap<>()).put(method, Charts.histogram(p));
    }

    void put(String key, double value) {
        root.put(key, value);
    }

    /**
     * Shares of the first training completions' target tokens per probability bucket ({@link Charts#EDGES}), per base
     * and method (the base model and each method's first seed).
     */
    public Map<String, Map<String, List<Double>>> histograms() {
        return histograms;
    }

    /** Whether a base was pretrained on a corpus that never shows the chat format the fine-tuning data uses. */
    public boolean withoutChatFormat(String base) {
        for (JsonNode b : root.get("bases")) {
            if (b.path("name").asText().equals(base)) {
                return b.path("chat_share").asDouble() == 0;
            }
        }
        return false;
    }

    /** Bases in run order with their labels. */
    public Map<String, String> baseLabels() {
        Map<String, String> m = new LinkedHashMap<>();
        root.get("bases")
                .forEach(b -> m.put(b.path("name").asText(), b.path("label").asText()));
        return m;
    }

    /** Method labels in run order, the base model first. */
    public List<String> methods() {
        List<String> m = new ArrayList<>();
        m.add("base");
        root.path("settings").path("methods").forEach(o -> m.add(o.asText()));
        return m;
    }

    /** scores[seed][problem] of one base, method and set (the base model has one row). */
    public double[][] table(String base, String method, String set) {
        List<double[]> rows = new ArrayList<>();
        for (JsonNode r : root.get("runs")) {
            if (r.path("base").asText().equals(base)
                    && r.path("method").asText().equals(method)) {
                JsonNode c = r.path(set).path("correct");
                double[] row = new double[c.size()];
                for (int i = 0; i < row.length; i++) {
                    row[i] = c.get(i).asDouble();
                }
                rows.add(row);
            }
        }
        return rows.toArray(double[][]::new);
    }

    /** The learning rate the search chose for a method on a base. */
    public double chosenLearningRate(String base, String method) {
        for (JsonNode r : root.get("runs")) {
            if (r.path("base").asText().equals(base)
                    && r.path("method").asText().equals(method)) {
                return r.path("lr").asDouble();
            }
        }
        return Double.NaN;
    }

    /** Means with intervals per base, method and set, and each method against SFT, paired; added to the JSON too. */
    public ObjectNode statistics() {
        ObjectNode stats = root.putObject("statistics");
        long rng = 7;
        for (String base : baseLabels().keySet()) {
            ObjectNode b = stats.putObject(base);
            for (String set : SETS) {
                ObjectNode s = b.putObject(set);
                for (String method : methods()) {
                    double[][] t = table(base, method, set);
                    if (t.length == 0) {
                        continue;
                    }
                    ObjectNode m = s.putObject(method);
                    if (method.equals("base")) {
                        m.put("mean", SeedProblemStats.mean(t, rng).mean());
                        continue;
                    }
                    SeedProblemStats.Interval iv = SeedProblemStats.mean(t, rng++);
                    m.put("mean", iv.mean());
                    m.put("low", iv.low());
                    m.put("high", iv.high());
                    if (!method.equals("SFT") && table(base, "SFT", set).length == t.length) {
                        SeedProblemStats.PairedTest p = SeedProblemStats.paired(t, table(base, "SFT", set), rng++);
                        ObjectNode v = m.putObject("minus_sft");
                        v.put("difference", p.difference());
                        v.put("low", p.low());
                        v.put("high", p.high());
                        v.put("p_value", p.pValue());
                        v.put("wins", p.wins());
                        v.put("losses", p.losses());
                    }
                }
            }
        }
        return stats;
    }

    /** The whole record as JSON (settings, bases, search, runs, statistics once computed). */
    public ObjectNode json() {
        return root;
    }
}
