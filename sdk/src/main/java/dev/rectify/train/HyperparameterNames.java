package dev.rectify.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The one mapping from named hyperparameters (snake_case, as in batch manifests, the server's fine-tuning API and
 * the CLI) onto {@link FineTuneOptions.Builder}. Our names and TRL's / Hugging Face Trainer's are both accepted:
 * {@code num_train_epochs} (or OpenAI's {@code n_epochs}) for {@code epochs}, {@code max_length} for
 * {@code max_seq_length}, {@code per_device_train_batch_size} for {@code micro_batch_size},
 * {@code lr_scheduler_type} for {@code schedule}, {@code eval_steps} for {@code eval_every}, {@code target_modules}
 * or {@code lora_target_modules} for {@code lora_targets}, {@code lora_r} for {@code lora_rank}, and {@code loss_type} ({@code "dft"} or {@code "nll"}) for the objective.
 * {@code gradient_accumulation_steps} sets the batch to micro-batch × steps; {@code per_device_train_batch_size}
 * without {@code batch_size} or {@code gradient_accumulation_steps} is TRL's batch (one micro-batch a step).
 * Anything not given keeps {@link Hyperparameters#DEFAULTS}; the LoRA alpha defaults to twice the rank.
 */
public final class HyperparameterNames {
    private static final String SCHEDULES = "cosine, linear, constant or constant_with_warmup";
    /** Our names, and what each takes. */
    public static final Map<String, String> NAMES;
    /** TRL's, PEFT's and OpenAI's names, and the name each stands for. */
    public static final Map<String, String> ALIASES;

    static {
        Map<String, String> n = new LinkedHashMap<>();
        n.put("epochs", "integer");
        n.put("max_steps", "integer");
        n.put("lora_rank", "integer");
        n.put("lora_alpha", "number");
        n.put("lora_targets", "list of module names");
        n.put("lora_dropout", "number");
        n.put("full", "boolean");
        n.put("learning_rate", "number");
        n.put("schedule", SCHEDULES);
        n.put("warmup_ratio", "number");
        n.put("batch_size", "integer");
        n.put("micro_batch_size", "integer");
        n.put("gradient_accumulation_steps", "integer");
        n.put("max_seq_length", "integer");
        n.put("seed", "integer");
        n.put("eval_fraction", "number");
        n.put("eval_every", "integer");
        n.put("early_stopping_patience", "integer");
        n.put("weight_decay", "number");
        n.put("max_grad_norm", "number");
        n.put("adam_beta1", "number");
        n.put("adam_beta2", "number");
        n.put("loss_type", "dft or nll");
        NAMES = Collections.unmodifiableMap(n);
        Map<String, String> a = new LinkedHashMap<>();
        a.put("num_train_epochs", "epochs");
        a.put("n_epochs", "epochs");
        a.put("max_length", "max_seq_length");
        a.put("per_device_train_batch_size", "micro_batch_size");
        a.put("lr_scheduler_type", "schedule");
        a.put("eval_steps", "eval_every");
        a.put("target_modules", "lora_targets");
        a.put("lora_target_modules", "lora_targets");
        a.put("lora_r", "lora_rank");
        ALIASES = Collections.unmodifiableMap(a);
    }

    private HyperparameterNames() {}

    /** Whether {@code name} is one of ours or an alias. */
    public static boolean isKnown(String name) {
        return NAMES.containsKey(name) || ALIASES.containsKey(name);
    }

    /** Every accepted name, ours first, for error messages. */
    public static List<String> known() {
        List<String> all = new ArrayList<>(NAMES.keySet());
        all.addAll(ALIASES.keySet());
        return all;
    }

    /**
     * Sets the values named in {@code values} on {@code b}. An unknown name, a value of the wrong type or range, a
     * name given together with its alias, or {@code full} with LoRA settings throws an
     * {@link InvalidHyperparameterException} whose message starts with {@code prefix} and the name as given.
     */
    public static FineTuneOptions.Builder apply(
            Map<String, JsonNode> values, FineTuneOptions.Builder b, String prefix) {
        Map<String, JsonNode> v = new LinkedHashMap<>();
        Map<String, String> givenAs = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : values.entrySet()) {
            String name = ALIASES.getOrDefault(e.getKey(), e.getKey());
            if (!NAMES.containsKey(name)) {
                throw new InvalidHyperparameterException(
                        e.getKey(),
                        prefix + "\"" + e.getKey() + "\" is unknown (known: " + String.join(", ", known()) + ")");
            }
            String before = givenAs.put(name, e.getKey());
            if (before != null) {
                throw new InvalidHyperparameterException(
                        e.getKey(), prefix + e.getKey() + " and " + before + " name the same setting: give one");
            }
            v.put(name, e.getValue());
        }
        Values r = new Values(v, givenAs, prefix);
        try {
            if (v.containsKey("loss_type")) {
                b.objective(lossType(r));
            }
            if (v.containsKey("full") && r.bool("full")) {
                for (String lora : List.of("lora_rank", "lora_alpha", "lora_targets", "lora_dropout")) {
                    if (v.containsKey(lora)) {
                        throw r.invalid(lora, prefix + "full and " + givenAs.get(lora) + " do not go together");
                    }
                }
                b.fullFineTuning();
            } else if (v.containsKey("lora_rank") || v.containsKey("lora_alpha")) {
                int rank = v.containsKey("lora_rank") ? r.integer("lora_rank") : Hyperparameters.DEFAULT_LORA_RANK;
                b.lora(
                        rank,
                        v.containsKey("lora_alpha") ? r.number("lora_alpha") : Hyperparameters.defaultLoraAlpha(rank));
            }
            if (v.containsKey("lora_targets") && !(v.containsKey("full") && r.bool("full"))) {
                b.loraTargets(r.names("lora_targets").toArray(new String[0]));
            }
            if (v.containsKey("lora_dropout")) {
                b.loraDropout(r.number("lora_dropout"));
            }
            if (v.containsKey("epochs")) {
                b.epochs(r.integer("epochs"));
            }
            if (v.containsKey("max_steps")) {
                b.maxSteps(r.integer("max_steps"));
            }
            if (v.containsKey("learning_rate")) {
                b.learningRate(r.number("learning_rate"));
            }
            if (v.containsKey("schedule")) {
                b.schedule(schedule(r));
            }
            if (v.containsKey("warmup_ratio")) {
                b.warmupRatio(r.number("warmup_ratio"));
            }
            batches(r, b);
            if (v.containsKey("max_seq_length")) {
                b.maxSeqLength(r.integer("max_seq_length"));
            }
            if (v.containsKey("seed")) {
                b.seed(r.longInteger("seed"));
            }
            if (v.containsKey("eval_fraction")) {
                b.evalFraction(r.number("eval_fraction"));
            }
            if (v.containsKey("eval_every")) {
                b.evalEvery(r.integer("eval_every"));
            }
            if (v.containsKey("early_stopping_patience")) {
                b.earlyStoppingPatience(r.integer("early_stopping_patience"));
            }
            if (v.containsKey("weight_decay")) {
                b.weightDecay(r.number("weight_decay"));
            }
            if (v.containsKey("max_grad_norm")) {
                b.maxGradNorm(r.number("max_grad_norm"));
            }
            if (v.containsKey("adam_beta1") || v.containsKey("adam_beta2")) {
                FineTuneOptions now = b.build();
                b.betas(
                        v.containsKey("adam_beta1") ? r.number("adam_beta1") : now.beta1(),
                        v.containsKey("adam_beta2") ? r.number("adam_beta2") : now.beta2());
            }
            return b;
        } catch (InvalidHyperparameterException e) {
            throw e;
        } catch (InvalidArgumentException e) {
            // a range check of the builder: name the setting as the caller wrote it
            throw new InvalidHyperparameterException(r.current, e.getMessage());
        }
    }

    /** batch_size, micro_batch_size (per_device_train_batch_size) and gradient_accumulation_steps, in TRL's sense. */
    private static void batches(Values r, FineTuneOptions.Builder b) {
        boolean batch = r.values.containsKey("batch_size");
        boolean micro = r.values.containsKey("micro_batch_size");
        boolean accumulation = r.values.containsKey("gradient_accumulation_steps");
        if (batch && accumulation) {
            throw r.invalid(
                    "gradient_accumulation_steps",
                    r.prefix + "batch_size and gradient_accumulation_steps do not go "
                            + "together: the batch is micro_batch_size x gradient_accumulation_steps");
        }
        int microSize = micro ? r.integer("micro_batch_size") : b.build().microBatchSize();
        if (micro) {
            b.microBatchSize(microSize);
        }
        if (batch) {
            b.batchSize(r.integer("batch_size"));
        } else if (accumulation) {
            int steps = r.integer("gradient_accumulation_steps");
            if (steps < 1) {
                throw r.invalid(
                        "gradient_accumulation_steps",
                        r.prefix + r.givenAs.get("gradient_accumulation_steps") + " must be >= 1, found " + steps);
            }
            b.batchSize(Math.multiplyExact(microSize, steps));
        } else if (micro && r.givenAs.get("micro_batch_size").equals("per_device_train_batch_size")) {
            b.batchSize(microSize); // TRL: one micro-batch per optimizer step unless accumulation is given
        }
        if (micro) {
            b.microBatchSize(microSize); // again: batchSize() may have been below it before
        }
    }

    private static Objective lossType(Values r) {
        JsonNode t = r.node("loss_type");
        String s = t.isTextual() ? t.asText().toLowerCase(Locale.ROOT) : "";
        return switch (s) {
            case "dft" -> Objective.DFT;
            case "nll", "sft" -> Objective.SFT;
            default ->
                throw r.invalid(
                        "loss_type", r.prefix + r.givenAs.get("loss_type") + " must be \"dft\" or \"nll\", found " + t);
        };
    }

    private static LrSchedule schedule(Values r) {
        JsonNode s = r.node("schedule");
        LrSchedule found = s.isTextual() ? LrSchedule.byName(s.asText()) : null;
        if (found == null) {
            throw r.invalid(
                    "schedule", r.prefix + r.givenAs.get("schedule") + " must be " + SCHEDULES + ", found " + s);
        }
        return found;
    }

    /** The values by our names, remembering how each was written; {@code current} is the name being read. */
    private static final class Values {
        final Map<String, JsonNode> values;
        final Map<String, String> givenAs;
        final String prefix;
        String current;

        Values(Map<String, JsonNode> values, Map<String, String> givenAs, String prefix) {
            this.values = values;
            this.givenAs = givenAs;
            this.prefix = prefix;
        }

        JsonNode node(String name) {
            current = givenAs.get(name);
            return values.get(name);
        }

        InvalidHyperparameterException invalid(String name, String message) {
            return new InvalidHyperparameterException(givenAs.get(name), message);
        }

        int integer(String name) {
            JsonNode x = node(name);
            if (!x.isIntegralNumber() || !x.canConvertToInt()) {
                throw invalid(name, prefix + current + " must be an integer, found " + x);
            }
            return x.intValue();
        }

        long longInteger(String name) {
            JsonNode x = node(name);
            if (!x.isIntegralNumber() || !x.canConvertToLong()) {
                throw invalid(name, prefix + current + " must be an integer, found " + x);
            }
            return x.longValue();
        }

        double number(String name) {
            JsonNode x = node(name);
            if (!x.isNumber()) {
                throw invalid(name, prefix + current + " must be a number, found " + x);
            }
            return x.doubleValue();
        }

        boolean bool(String name) {
            JsonNode x = node(name);
            if (!x.isBoolean()) {
                throw invalid(name, prefix + current + " must be true or false, found " + x);
            }
            return x.booleanValue();
        }

        List<String> names(String name) {
            JsonNode t = node(name);
            if (!t.isArray() || t.isEmpty()) {
                throw invalid(name, prefix + current + " must be a non-empty list of module names, found " + t);
            }
            List<String> out = new ArrayList<>();
            for (JsonNode x : t) {
                if (!x.isTextual() || x.asText().isBlank()) {
                    throw invalid(name, prefix + current + " must hold module names, found " + x);
                }
                out.add(x.asText());
            }
            return out;
        }
    }
}
