package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A fine-tuning job's method and resolved hyperparameters, parsed from the request ({@code method: {type, <type>:
 * {hyperparameters}}} or the older top-level {@code hyperparameters}) and stored with the job as JSON.
 * Hyperparameters: n_epochs, batch_size, learning_rate_multiplier (× 2e-4) or learning_rate, and the extensions
 * lora_rank, lora_alpha, lora_targets (a list of module names; default every linear projection in the decoder
 * layers), max_steps, max_seq_length, checkpoint_every. "auto" means the default.
 */
public record JobSpec(String methodType, int nEpochs, int batchSize, double learningRate, Double learningRateMultiplier,
        int loraRank, double loraAlpha, Integer maxSteps, int maxSeqLength, int checkpointEvery, List<String> loraTargets) {
    static final double BASE_LEARNING_RATE = 2e-4;
    private static final Pattern SUFFIX = Pattern.compile("[A-Za-z0-9_-]{1,40}");

    public Objective objective() {
        return methodType.equals("dft") ? Objective.DFT : Objective.SFT;
    }

    static JobSpec parse(ObjectNode body, Settings settings) {
        ObjectNode method = Json.obj(body, "method", "method");
        String type = "supervised";
        ObjectNode hp = null;
        if (method != null) {
            type = Json.string(method, "type", "method.type", true);
            if (!type.equals("supervised") && !type.equals("dft")) {
                throw ApiException.invalid("method.type", "'method.type' must be \"supervised\" or \"dft\", got " + Ids.quote(type)
                        + (type.equals("dpo") || type.equals("reinforcement") ? " (not supported here)" : ""));
            }
            ObjectNode inner = Json.obj(method, type, "method." + type);
            if (inner != null) {
                hp = Json.obj(inner, "hyperparameters", "method." + type + ".hyperparameters");
            }
        } else {
            hp = Json.obj(body, "hyperparameters", "hyperparameters");
        }
        String p = method != null ? "method." + type + ".hyperparameters." : "hyperparameters.";
        if (hp == null) {
            hp = Json.object();
        }
        for (var it = hp.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!java.util.Set.of("n_epochs", "batch_size", "learning_rate_multiplier", "learning_rate", "lora_rank", "lora_alpha",
                    "lora_targets", "max_steps", "max_seq_length", "checkpoint_every").contains(f)) {
                throw ApiException.invalid(p + f, "unknown hyperparameter '" + f + "' (known: n_epochs, batch_size, "
                        + "learning_rate_multiplier, learning_rate, lora_rank, lora_alpha, lora_targets, max_steps, "
                        + "max_seq_length, checkpoint_every)");
            }
        }
        int epochs = orDefault(auto(hp, "n_epochs", p, 1, 10_000), 3);
        int batch = orDefault(auto(hp, "batch_size", p, 1, 65_536), 8);
        int rank = orDefault(auto(hp, "lora_rank", p, 1, 4096), 16);
        Integer maxSteps = auto(hp, "max_steps", p, 1, 10_000_000);
        int maxSeq = orDefault(auto(hp, "max_seq_length", p, 2, 1 << 20), settings.maxSeqLength());
        int ckpt = orDefault(auto(hp, "checkpoint_every", p, 0, 10_000_000), settings.checkpointEvery());
        Double alphaIn = autoNumber(hp, "lora_alpha", p);
        double alpha = alphaIn == null ? 2.0 * rank : alphaIn;
        Double mult = autoNumber(hp, "learning_rate_multiplier", p);
        Double lr = autoNumber(hp, "learning_rate", p);
        if (mult != null && lr != null) {
            throw ApiException.invalid(p + "learning_rate", "give learning_rate_multiplier or learning_rate, not both");
        }
        double effective = lr != null ? lr : BASE_LEARNING_RATE * (mult == null ? 1.0 : mult);
        JobSpec spec = new JobSpec(type, epochs, batch, effective, mult, rank, alpha, maxSteps, maxSeq, ckpt,
                targets(hp, p + "lora_targets"));
        try {
            spec.options().build();
        } catch (InvalidArgumentException e) {
            throw ApiException.invalid(p.substring(0, p.length() - 1), e.getMessage());
        }
        return spec;
    }

    static String suffix(ObjectNode body) {
        String s = Json.string(body, "suffix", "suffix", false);
        if (s != null && !SUFFIX.matcher(s).matches()) {
            throw ApiException.invalid("suffix", "'suffix' must be 1 to 40 letters, digits, '_' or '-', got " + Ids.quote(s));
        }
        return s;
    }

    /** lora_targets: "auto"/absent (null: the default), or a non-empty list of module names. */
    private static List<String> targets(JsonNode hp, String field) {
        if (isAuto(hp, "lora_targets")) {
            return null;
        }
        JsonNode t = hp.get("lora_targets");
        if (!t.isArray() || t.isEmpty()) {
            throw ApiException.invalid(field, "'" + field + "' must be \"auto\" or a non-empty list of module names "
                    + "such as [\"q_proj\", \"v_proj\"], got " + t);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode x : t) {
            if (!x.isTextual() || x.asText().isBlank()) {
                throw ApiException.invalid(field, "'" + field + "' must hold module names, found " + x);
            }
            out.add(x.asText());
        }
        return List.copyOf(out);
    }

    private static int orDefault(Integer v, int d) {
        return v == null ? d : v;
    }

    private static boolean isAuto(JsonNode hp, String name) {
        JsonNode v = hp.get(name);
        return v == null || v.isNull() || (v.isTextual() && v.asText().equals("auto"));
    }

    private static Integer auto(JsonNode hp, String name, String prefix, long min, long max) {
        return isAuto(hp, name) ? null : Json.integer(hp, name, prefix + name, min, max);
    }

    private static Double autoNumber(JsonNode hp, String name, String prefix) {
        if (isAuto(hp, name)) {
            return null;
        }
        Double d = Json.number(hp, name, prefix + name);
        if (d <= 0) {
            throw ApiException.invalid(prefix + name, "'" + prefix + name + "' must be > 0, got " + d);
        }
        return d;
    }

    /** The SDK options (without run folder, listener or cancellation). */
    FineTuneOptions.Builder options() {
        FineTuneOptions.Builder b = FineTuneOptions.builder().objective(objective()).lora(loraRank, loraAlpha).epochs(nEpochs)
                .learningRate(learningRate).batchSize(batchSize).maxSeqLength(maxSeqLength).checkpointEvery(checkpointEvery);
        if (maxSteps != null) {
            b.maxSteps(maxSteps);
        }
        if (loraTargets != null) {
            b.loraTargets(loraTargets.toArray(new String[0]));
        }
        return b;
    }

    ObjectNode hyperparametersJson() {
        ObjectNode h = Json.object();
        h.put("n_epochs", nEpochs);
        h.put("batch_size", batchSize);
        if (learningRateMultiplier != null) {
            h.put("learning_rate_multiplier", learningRateMultiplier);
        } else {
            h.put("learning_rate_multiplier", learningRate / BASE_LEARNING_RATE);
        }
        h.put("learning_rate", learningRate);
        h.put("lora_rank", loraRank);
        h.put("lora_alpha", loraAlpha);
        if (loraTargets == null) {
            h.put("lora_targets", "auto");
        } else {
            loraTargets.forEach(h.putArray("lora_targets")::add);
        }
        if (maxSteps == null) {
            h.putNull("max_steps");
        } else {
            h.put("max_steps", maxSteps);
        }
        h.put("max_seq_length", maxSeqLength);
        h.put("checkpoint_every", checkpointEvery);
        return h;
    }

    String toJson() {
        ObjectNode o = hyperparametersJson();
        o.put("method_type", methodType);
        return Json.write(o);
    }

    static JobSpec fromJson(String s) {
        JsonNode n = Json.parse(s);
        return new JobSpec(n.path("method_type").asText("supervised"), n.path("n_epochs").asInt(), n.path("batch_size").asInt(),
                n.path("learning_rate").asDouble(), n.path("learning_rate_multiplier").isNumber() ? n.get("learning_rate_multiplier").asDouble() : null,
                n.path("lora_rank").asInt(), n.path("lora_alpha").asDouble(),
                n.path("max_steps").isNumber() ? n.get("max_steps").asInt() : null, n.path("max_seq_length").asInt(),
                n.path("checkpoint_every").asInt(), n.path("lora_targets").isArray() ? storedTargets(n.get("lora_targets")) : null);
    }

    private static List<String> storedTargets(JsonNode a) {
        List<String> out = new ArrayList<>();
        a.forEach(x -> out.add(x.asText()));
        return List.copyOf(out);
    }
}
