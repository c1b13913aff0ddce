package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.HyperparameterNames;
import dev.rectify.train.Hyperparameters;
import dev.rectify.train.InvalidHyperparameterException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A fine-tuning job's method and the hyperparameters given, parsed from the request ({@code method: {type, <type>:
 * {hyperparameters}}} or the older top-level {@code hyperparameters}) and stored with the job as JSON. The
 * hyperparameters are the SDK's ({@link HyperparameterNames}: our names and TRL's, its defaults and checks) plus the
 * server's {@code learning_rate_multiplier} (× the default LoRA rate) and {@code checkpoint_every}; "auto" means the
 * default. {@code max_seq_length} and {@code checkpoint_every} default to the server's settings.
 *
 * @param hyperparameters the values given (without "auto"s), with the server's defaults added
 */
public record JobSpec(String methodType, ObjectNode hyperparameters) {
    static final double BASE_LEARNING_RATE = Hyperparameters.defaultLearningRate(false);
    private static final Set<String> SERVER_ONLY = Set.of("learning_rate_multiplier", "checkpoint_every");
    private static final Pattern SUFFIX = Pattern.compile("[A-Za-z0-9_-]{1,40}");

    /** The objective of the method ({@code dft} or {@code supervised}), or of a {@code loss_type} hyperparameter. */
    public Objective objective() {
        return options().build().objective();
    }

    static JobSpec parse(FineTuningJobBody body, Settings settings) {
        FineTuningJobBody.Method method = body.method();
        String type = "supervised";
        ObjectNode hp;
        if (method != null) {
            type = method.type();
            if (type == null) {
                throw ApiException.invalid("method.type", "missing required parameter 'method.type'");
            }
            if (!type.equals("supervised") && !type.equals("dft")) {
                throw ApiException.invalid(
                        "method.type",
                        "'method.type' must be \"supervised\" or \"dft\", got " + Ids.quote(type)
                                + (type.equals("dpo") || type.equals("reinforcement") ? " (not supported here)" : ""));
            }
            FineTuningJobBody.MethodSettings inner = method.of(type);
            hp = inner == null ? null : object(inner.hyperparameters(), "method." + type + ".hyperparameters");
        } else {
            hp = object(body.hyperparameters(), "hyperparameters");
        }
        String p = method != null ? "method." + type + ".hyperparameters." : "hyperparameters.";
        ObjectNode given = Json.object();
        if (hp != null) {
            for (var it = hp.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String f = e.getKey();
                if (!SERVER_ONLY.contains(f) && !HyperparameterNames.isKnown(f)) {
                    List<String> known = new ArrayList<>(HyperparameterNames.known());
                    known.addAll(SERVER_ONLY);
                    throw ApiException.invalid(
                            p + f, "unknown hyperparameter '" + f + "' (known: " + String.join(", ", known) + ")");
                }
                JsonNode v = e.getValue();
                if (!(v.isNull() || (v.isTextual() && v.asText().equals("auto")))) {
                    given.set(f, v);
                }
            }
        }
        if (given.has("learning_rate_multiplier")) {
            if (given.has("learning_rate")) {
                throw ApiException.invalid(
                        p + "learning_rate", "give learning_rate_multiplier or learning_rate, not both");
            }
            JsonNode v = given.get("learning_rate_multiplier");
            if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
                throw ApiException.invalid(
                        p + "learning_rate_multiplier",
                        "'" + p + "learning_rate_multiplier' must be a finite number, found " + Json.kind(v));
            }
            double m = v.asDouble();
            if (m <= 0) {
                throw ApiException.invalid(
                        p + "learning_rate_multiplier", "'" + p + "learning_rate_multiplier' must be > 0, got " + m);
            }
        }
        if (given.has("checkpoint_every")) {
            JsonNode v = given.get("checkpoint_every");
            if (!v.canConvertToInt()
                    || v.asDouble() != Math.rint(v.asDouble())
                    || v.asInt() < 0
                    || v.asInt() > 10_000_000) {
                throw ApiException.invalid(
                        p + "checkpoint_every",
                        "'" + p + "checkpoint_every' must be an integer in [0, 10000000], found " + v);
            }
        } else {
            given.put("checkpoint_every", settings.checkpointEvery());
        }
        if (!given.has("max_seq_length") && !given.has("max_length")) {
            given.put("max_seq_length", settings.maxSeqLength());
        }
        JobSpec spec = new JobSpec(type, given);
        try {
            FineTuneOptions o = spec.options(p).build();
            if (type.equals("dft") && given.has("loss_type") && !o.objective().equals(Objective.DFT)) {
                throw ApiException.invalid(
                        p + "loss_type",
                        "method type \"dft\" and loss_type " + given.get("loss_type") + " disagree: give one");
            }
        } catch (InvalidHyperparameterException e) {
            throw ApiException.invalid(p + e.name(), e.getMessage());
        } catch (InvalidArgumentException e) {
            throw ApiException.invalid(p.substring(0, p.length() - 1), e.getMessage());
        }
        return spec;
    }

    static String suffix(String s) {
        if (s != null && !SUFFIX.matcher(s).matches()) {
            throw ApiException.invalid(
                    "suffix", "'suffix' must be 1 to 40 letters, digits, '_' or '-', got " + Ids.quote(s));
        }
        return s;
    }

    /** {@code v} as an object, or null when not given. */
    private static ObjectNode object(JsonNode v, String param) {
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isObject()) {
            throw ApiException.invalid(param, "'" + param + "' must be an object, found " + Json.kind(v));
        }
        return (ObjectNode) v;
    }

    /** The SDK options (without seed, held-out data, listener or cancellation). */
    FineTuneOptions.Builder options() {
        return options("hyperparameter ");
    }

    /** {@link #options()}, naming a bad value {@code prefix} + its name. */
    private FineTuneOptions.Builder options(String prefix) {
        Map<String, JsonNode> named = new LinkedHashMap<>();
        hyperparameters.fields().forEachRemaining(e -> {
            if (!SERVER_ONLY.contains(e.getKey())) {
                named.put(e.getKey(), e.getValue());
            }
        });
        FineTuneOptions.Builder b = HyperparameterNames.apply(
                named,
                FineTuneOptions.builder().objective(methodType.equals("dft") ? Objective.DFT : Objective.SFT),
                prefix);
        JsonNode m = hyperparameters.get("learning_rate_multiplier");
        if (m != null) {
            b.learningRate(BASE_LEARNING_RATE * m.asDouble());
        }
        return b.checkpointEvery(checkpointEvery());
    }

    int checkpointEvery() {
        return hyperparameters.path("checkpoint_every").asInt();
    }

    /** The hyperparameters in effect, as the API shows them (OpenAI's names, then ours). */
    ObjectNode hyperparametersJson() {
        FineTuneOptions o = options().build();
        ObjectNode h = Json.object();
        h.put("n_epochs", o.epochs());
        h.put("batch_size", o.batchSize());
        h.put("learning_rate_multiplier", o.learningRate() / BASE_LEARNING_RATE);
        h.put("learning_rate", o.learningRate());
        h.put(
                "loss_type",
                o.objective().equals(Objective.DFT)
                        ? "dft"
                        : o.objective().equals(Objective.SFT)
                                ? "nll"
                                : o.objective().toString());
        h.put("lora_rank", o.loraRank());
        h.put("lora_alpha", o.loraAlpha());
        h.put("lora_dropout", o.loraDropout());
        h.put("schedule", o.schedule().hfName());
        h.put("warmup_ratio", o.warmupRatio());
        h.put("weight_decay", o.weightDecay());
        h.put("max_grad_norm", o.maxGradNorm());
        if (o.maxSteps() > 0) {
            h.put("max_steps", o.maxSteps());
        } else {
            h.putNull("max_steps");
        }
        h.put("max_seq_length", o.maxSeqLength());
        h.put("micro_batch_size", o.microBatchSize());
        h.put("checkpoint_every", o.checkpointEvery());
        return h;
    }

    String toJson() {
        ObjectNode o = Json.object();
        o.put("method_type", methodType);
        o.set("given", hyperparameters);
        return Json.write(o);
    }

    /** Reads {@link #toJson()}, or the flat format of earlier versions (resolved values beside {@code method_type}). */
    static JobSpec fromJson(String s) {
        JsonNode n = Json.parse(s);
        String type = n.path("method_type").asText("supervised");
        if (n.has("given")) {
            return new JobSpec(type, (ObjectNode) n.get("given"));
        }
        ObjectNode given = ((ObjectNode) n).deepCopy();
        given.remove(List.of("method_type", "learning_rate_multiplier"));
        if (given.path("max_steps").isNull()) {
            given.remove("max_steps");
        }
        return new JobSpec(type, given);
    }
}
