package dev.rectify.bench.prior;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

    private final ObjectMapper json = new ObjectMapper();
    private final ExperimentSettings settings;
    private final ObjectNode root = json.createObjectNode();
    private final Map<String, Map<String, double[]>> probabilities = new LinkedHashMap<>();

    ExperimentResults(ExperimentSettings settings) {
        this.settings = settings;
        ObjectNode s = root.putObject("settings");
        s.put("seeds", settings.seeds());
        s.put("first_seed", ExperimentSettings.FIRST_SEED);
        s.putPOJO(
                "methods",
                settings.methods().stream().map(ExperimentResults::label).toList());
        s.putPOJO("learning_rates", settings.learningRates());
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

    /** The name a method has in tables, files and plots (its colour follows it in every figure). */
    public static String label(Objective o) {
        return switch (o.kind()) {
            case SFT -> "SFT";
            case DFT -> "DFT";
            case DFT_CLAMPED -> "DFT-clamped(" + o.parameter() + ")";
            case MIX -> "mix(" + o.parameter() + ")";
        };
    }

    ExperimentSettings settings() {
        return settings;
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
                JsonNode l = json.readTree(log.toFile());
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
        probabilities.computeIfAbsent(base, k -> new LinkedHashMap<>()).put(method, p);
    }

    void put(String key, double value) {
        root.put(key, value);
    }

    /** Token probabilities of the first training completions, per base and method (base model and first seed). */
    public Map<String, Map<String, double[]>> probabilities() {
        return probabilities;
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
        settings.methods().forEach(o -> m.add(label(o)));
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
