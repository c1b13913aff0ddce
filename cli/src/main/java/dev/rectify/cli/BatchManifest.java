package dev.rectify.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.train.LrSchedule;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A batch manifest: JSON Lines, one fine-tuning job per line, for example
 * <pre>{"name": "math-dft", "data": "data/math/train.jsonl", "objective": "dft",
 *  "options": {"max_steps": 100, "lora_rank": 8, "eval_data": "data/math/heldout.jsonl"}, "output": "adapters/math-dft"}</pre>
 * {@code data} and {@code eval_data} are relative to the manifest's folder, {@code output} (default
 * {@code adapters/<name>}) to the batch's output folder. Every line is checked before anything runs: valid JSON, known
 * fields and option keys, values of the right type and range, unique names and outputs.
 */
final class BatchManifest {
    /** The fields of a job line. */
    static final Set<String> FIELDS = Set.of("name", "data", "objective", "options", "output");

    /** The option keys, and what they take. */
    static final Map<String, String> OPTIONS;

    static {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("epochs", "integer");
        o.put("max_steps", "integer");
        o.put("lora_rank", "integer");
        o.put("lora_alpha", "number");
        o.put("lora_targets", "list of module names");
        o.put("full", "boolean");
        o.put("learning_rate", "number");
        o.put("schedule", "cosine, linear or constant");
        o.put("warmup_ratio", "number");
        o.put("batch_size", "integer");
        o.put("micro_batch_size", "integer");
        o.put("max_seq_length", "integer");
        o.put("seed", "integer");
        o.put("eval_data", "path");
        o.put("eval_fraction", "number");
        o.put("eval_every", "integer");
        o.put("early_stopping_patience", "integer");
        o.put("weight_decay", "number");
        o.put("max_grad_norm", "number");
        o.put("checkpoint_every", "integer");
        OPTIONS = java.util.Collections.unmodifiableMap(o);
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /**
     * One job as written in the manifest, checked.
     *
     * @param line the 1-based manifest line
     * @param options the option keys given, sorted
     */
    record Job(int line, String name, Path data, Objective objective, Map<String, JsonNode> options, Path evalData,
            Path output) {
        /** Options of this job (everything that determines the weights), without run folder or listeners. */
        FineTuneOptions.Builder optionsBuilder() {
            return BatchManifest.builder(this);
        }

        /** The {@code checkpoint_every} option, or -1 when not given. */
        int checkpointEvery() {
            JsonNode n = options.get("checkpoint_every");
            return n == null ? -1 : n.intValue();
        }
    }

    private BatchManifest() {
    }

    /**
     * Reads and checks {@code manifest}; {@code outDir} anchors relative outputs. Throws an
     * {@link InvalidArgumentException} naming the file and line of every problem found (on one line).
     */
    static List<Job> read(Path manifest, Path outDir) {
        List<String> lines;
        try (BufferedReader r = Files.newBufferedReader(manifest, StandardCharsets.UTF_8)) {
            lines = r.lines().toList();
        } catch (NoSuchFileException e) {
            throw new InvalidArgumentException(manifest + ": manifest not found");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new InvalidArgumentException(manifest + ": cannot read the manifest: " + e.getMessage());
        }
        Path base = manifest.toAbsolutePath().normalize().getParent();
        List<Job> jobs = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        Map<String, Integer> names = new HashMap<>();
        Map<Path, Integer> outputs = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            int lineNo = i + 1;
            try {
                Job job = parse(lineNo, line, base, outDir);
                Integer prev = names.putIfAbsent(job.name(), lineNo);
                if (prev != null) {
                    throw new InvalidArgumentException("duplicate job name '" + job.name() + "' (first on line " + prev + ")");
                }
                prev = outputs.putIfAbsent(job.output(), lineNo);
                if (prev != null) {
                    throw new InvalidArgumentException("job '" + job.name() + "' writes to " + job.output()
                            + ", as the job on line " + prev + " does: give each job its own output");
                }
                jobs.add(job);
            } catch (InvalidArgumentException e) {
                errors.add(manifest + ":" + lineNo + ": " + e.getMessage());
            }
        }
        if (errors.isEmpty() && jobs.isEmpty()) {
            errors.add(manifest + ": no jobs (the manifest is empty)");
        }
        if (!errors.isEmpty()) {
            String more = errors.size() == 1 ? "" : " (" + errors.size() + " errors in the manifest; also: "
                    + String.join("; ", errors.subList(1, errors.size())) + ")";
            throw new InvalidArgumentException((errors.get(0) + more).replaceAll("\\s*\\R\\s*", " "));
        }
        return jobs;
    }

    private static Job parse(int lineNo, String line, Path base, Path outDir) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new InvalidArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw new InvalidArgumentException("expected a JSON object, found " + (n == null ? "nothing" : n.getNodeType()));
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new InvalidArgumentException("unknown field \"" + f + "\" (a job has " + new java.util.TreeSet<>(FIELDS) + ")");
            }
        }
        String name = text(n, "name", true);
        if (!NAME.matcher(name).matches()) {
            throw new InvalidArgumentException("job name '" + name + "' must be 1 to 128 letters, digits, '.', '_' or '-', "
                    + "starting with a letter or digit");
        }
        String where = "job '" + name + "': ";
        try {
            Path data = path(base, text(n, "data", true), "data");
            String objectiveText = n.has("objective") ? text(n, "objective", true) : "dft";
            Objective objective = Objective.parse(objectiveText);
            Map<String, JsonNode> options = new TreeMap<>();
            JsonNode opts = n.get("options");
            if (opts != null && !opts.isNull()) {
                if (!opts.isObject()) {
                    throw new InvalidArgumentException("\"options\" must be an object, found " + opts.getNodeType());
                }
                for (Iterator<Map.Entry<String, JsonNode>> it = opts.fields(); it.hasNext();) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!OPTIONS.containsKey(e.getKey())) {
                        throw new InvalidArgumentException("unknown option \"" + e.getKey() + "\" (known: "
                                + String.join(", ", OPTIONS.keySet()) + ")");
                    }
                    options.put(e.getKey(), e.getValue());
                }
            }
            Path evalData = null;
            if (options.containsKey("eval_data")) {
                JsonNode e = options.get("eval_data");
                if (!e.isTextual() || e.asText().isBlank()) {
                    throw new InvalidArgumentException("option eval_data must be a path, found " + e);
                }
                evalData = path(base, e.asText(), "eval_data");
            }
            String outText = n.has("output") ? text(n, "output", true) : "adapters/" + name;
            Path output = path(outDir.toAbsolutePath().normalize(), outText, "output");
            Job job = new Job(lineNo, name, data, objective, options, evalData, output);
            builder(job).build(); // checks every value
            return job;
        } catch (InvalidArgumentException e) {
            throw new InvalidArgumentException(where + e.getMessage());
        }
    }

    /** The options of {@code job} on a builder (LoRA alpha defaults to twice the rank, as in {@code finetune}). */
    static FineTuneOptions.Builder builder(Job job) {
        Map<String, JsonNode> o = job.options();
        FineTuneOptions.Builder b = FineTuneOptions.builder().objective(job.objective());
        if (o.containsKey("full") && bool(o, "full")) {
            if (o.containsKey("lora_rank") || o.containsKey("lora_alpha") || o.containsKey("lora_targets")) {
                throw new InvalidArgumentException("options full and lora_* do not go together");
            }
            b.fullFineTuning();
        } else {
            int rank = o.containsKey("lora_rank") ? integer(o, "lora_rank") : 16;
            b.lora(rank, o.containsKey("lora_alpha") ? number(o, "lora_alpha") : 2.0 * rank);
            if (o.containsKey("lora_targets")) {
                JsonNode t = o.get("lora_targets");
                if (!t.isArray() || t.isEmpty()) {
                    throw new InvalidArgumentException("option lora_targets must be a non-empty list of module names, found " + t);
                }
                List<String> targets = new ArrayList<>();
                for (JsonNode x : t) {
                    if (!x.isTextual() || x.asText().isBlank()) {
                        throw new InvalidArgumentException("option lora_targets must hold module names, found " + x);
                    }
                    targets.add(x.asText());
                }
                b.loraTargets(targets.toArray(new String[0]));
            }
        }
        if (o.containsKey("epochs")) {
            b.epochs(integer(o, "epochs"));
        }
        if (o.containsKey("max_steps")) {
            b.maxSteps(integer(o, "max_steps"));
        }
        if (o.containsKey("learning_rate")) {
            b.learningRate(number(o, "learning_rate"));
        }
        if (o.containsKey("schedule")) {
            JsonNode s = o.get("schedule");
            try {
                if (!s.isTextual()) {
                    throw new IllegalArgumentException();
                }
                b.schedule(LrSchedule.valueOf(s.asText().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new InvalidArgumentException("option schedule must be cosine, linear or constant, found " + s);
            }
        }
        if (o.containsKey("warmup_ratio")) {
            b.warmupRatio(number(o, "warmup_ratio"));
        }
        if (o.containsKey("batch_size")) {
            b.batchSize(integer(o, "batch_size"));
        }
        if (o.containsKey("micro_batch_size")) {
            b.microBatchSize(integer(o, "micro_batch_size"));
        }
        if (o.containsKey("max_seq_length")) {
            b.maxSeqLength(integer(o, "max_seq_length"));
        }
        if (o.containsKey("seed")) {
            JsonNode s = o.get("seed");
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                throw new InvalidArgumentException("option seed must be an integer, found " + s);
            }
            b.seed(s.longValue());
        }
        if (o.containsKey("eval_fraction")) {
            b.evalFraction(number(o, "eval_fraction"));
        }
        if (o.containsKey("eval_every")) {
            b.evalEvery(integer(o, "eval_every"));
        }
        if (o.containsKey("early_stopping_patience")) {
            b.earlyStoppingPatience(integer(o, "early_stopping_patience"));
        }
        if (o.containsKey("weight_decay")) {
            b.weightDecay(number(o, "weight_decay"));
        }
        if (o.containsKey("max_grad_norm")) {
            b.maxGradNorm(number(o, "max_grad_norm"));
        }
        if (o.containsKey("checkpoint_every")) {
            b.checkpointEvery(integer(o, "checkpoint_every"));
        }
        return b;
    }

    private static String text(JsonNode n, String field, boolean required) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw new InvalidArgumentException("missing \"" + field + "\"");
            }
            return null;
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new InvalidArgumentException("\"" + field + "\" must be a non-empty string, found " + v);
        }
        return v.asText();
    }

    private static Path path(Path base, String text, String what) {
        try {
            return base.resolve(text).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new InvalidArgumentException("\"" + what + "\" is not a valid path: " + e.getMessage());
        }
    }

    private static int integer(Map<String, JsonNode> o, String key) {
        JsonNode v = o.get(key);
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new InvalidArgumentException("option " + key + " must be an integer, found " + v);
        }
        return v.intValue();
    }

    private static double number(Map<String, JsonNode> o, String key) {
        JsonNode v = o.get(key);
        if (!v.isNumber()) {
            throw new InvalidArgumentException("option " + key + " must be a number, found " + v);
        }
        return v.doubleValue();
    }

    private static boolean bool(Map<String, JsonNode> o, String key) {
        JsonNode v = o.get(key);
        if (!v.isBoolean()) {
            throw new InvalidArgumentException("option " + key + " must be true or false, found " + v);
        }
        return v.booleanValue();
    }
}
