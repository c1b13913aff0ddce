package dev.rectify.job;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.HyperparameterNames;
import dev.rectify.train.ProgressListener;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A batch manifest: JSON Lines, one fine-tuning job per line, for example
 * <pre>{"name": "math-dft", "data": "data/math/train.jsonl", "objective": "dft",
 *  "options": {"max_steps": 100, "lora_rank": 8, "eval_data": "data/math/heldout.jsonl"}, "output": "adapters/math-dft"}</pre>
 * {@code data} and {@code eval_data} are relative to the manifest's folder, {@code output} (default
 * {@code adapters/<name>}) to the batch's output folder. Every line is checked before anything runs: valid JSON, known
 * fields and option keys, values of the right type and range, unique names and outputs.
 *
 * <p>The one parser of the format: the CLI's {@code rectify batch} and the Spark job ({@code rectify-spark}) both read
 * manifests here and build their requests with {@link Job#request}, so the same line makes the same fine-tune (the
 * same {@link Fingerprint}) wherever it runs.
 */
public final class BatchManifest {
    /** The fields of a job line. */
    public static final Set<String> FIELDS = Set.of("name", "data", "objective", "options", "output");

    /** The option keys, and what they take: the SDK's hyperparameter names (ours and TRL's) and the batch's own. */
    public static final Map<String, String> OPTIONS;

    static {
        Map<String, String> o = new LinkedHashMap<>(HyperparameterNames.NAMES);
        HyperparameterNames.ALIASES.forEach((alias, name) -> o.put(alias, "alias of " + name));
        o.put("eval_data", "path");
        o.put("checkpoint_every", "integer");
        OPTIONS = Collections.unmodifiableMap(o);
    }

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /**
     * One job as written in the manifest, checked.
     *
     * @param line the 1-based manifest line
     * @param options the option keys given, sorted
     */
    public record Job(
            int line,
            String name,
            Path data,
            Objective objective,
            boolean objectiveGiven,
            Map<String, JsonNode> options,
            Path evalData,
            Path output) {
        /** Options of this job (everything that determines the weights), without run folder or listeners. */
        public FineTuneOptions.Builder optionsBuilder() {
            return BatchManifest.builder(this);
        }

        /** The {@code checkpoint_every} option, or -1 when not given. */
        public int checkpointEvery() {
            JsonNode n = options.get("checkpoint_every");
            return n == null ? -1 : n.intValue();
        }

        /**
         * This job as a request on {@code base} under its name, writing its {@link #output()}: reads its data and
         * held-out data, and checkpoints every {@code checkpointEvery} steps when the line gives no
         * {@code checkpoint_every} ({@code 0}: {@link #autoCheckpointEvery}). {@code progress} may be null.
         */
        public FineTuneRequest request(BaseModel base, int checkpointEvery, ProgressListener progress) {
            List<Example> examples = JsonlDataset.read(data);
            FineTuneOptions.Builder b = optionsBuilder();
            if (evalData != null) {
                b.evalExamples(JsonlDataset.read(evalData));
            }
            if (checkpointEvery() < 0) {
                b.checkpointEvery(
                        checkpointEvery > 0 ? checkpointEvery : autoCheckpointEvery(b.build(), examples.size()));
            }
            if (progress != null) {
                b.onProgress(progress);
            }
            return new FineTuneRequest(name, base, examples, b.build(), output);
        }
    }

    private BatchManifest() {}

    /**
     * Reads and checks {@code manifest}; {@code outDir} anchors relative outputs. Throws an
     * {@link InvalidArgumentException} naming the file and line of every problem found (on one line).
     */
    public static List<Job> read(Path manifest, Path outDir) {
        List<String> lines;
        try (BufferedReader r = Files.newBufferedReader(manifest, StandardCharsets.UTF_8)) {
            lines = r.lines().toList();
        } catch (NoSuchFileException e) {
            throw new InvalidArgumentException(manifest + ": manifest not found");
        } catch (IOException | UncheckedIOException e) {
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
                    throw new InvalidArgumentException(
                            "duplicate job name '" + job.name() + "' (first on line " + prev + ")");
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
            String more = errors.size() == 1
                    ? ""
                    : " (" + errors.size() + " errors in the manifest; also: "
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
            throw new InvalidArgumentException(
                    "expected a JSON object, found " + (n == null ? "nothing" : n.getNodeType()));
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new InvalidArgumentException(
                        "unknown field \"" + f + "\" (a job has " + new TreeSet<>(FIELDS) + ")");
            }
        }
        String name = text(n, "name", true);
        if (!NAME.matcher(name).matches()) {
            throw new InvalidArgumentException("job name '" + name
                    + "' must be 1 to 128 letters, digits, '.', '_' or '-', " + "starting with a letter or digit");
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
                for (Iterator<Map.Entry<String, JsonNode>> it = opts.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (!OPTIONS.containsKey(e.getKey())) { // one message for the whole line, before any value is read
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
            Job job = new Job(lineNo, name, data, objective, n.has("objective"), options, evalData, output);
            builder(job).build(); // checks every value
            return job;
        } catch (InvalidArgumentException e) {
            throw new InvalidArgumentException(where + e.getMessage());
        }
    }

    /**
     * The options of {@code job} on a builder, through the SDK's one hyperparameter mapping (its defaults, its
     * aliases, its checks); the top-level objective and a {@code loss_type} option must agree.
     */
    public static FineTuneOptions.Builder builder(Job job) {
        Map<String, JsonNode> hyperparameters = new TreeMap<>(job.options());
        hyperparameters.remove("eval_data");
        hyperparameters.remove("checkpoint_every");
        FineTuneOptions.Builder b = HyperparameterNames.apply(
                hyperparameters, FineTuneOptions.builder().objective(job.objective()), "option ");
        if (job.objectiveGiven()
                && hyperparameters.containsKey("loss_type")
                && !b.build().objective().equals(job.objective())) {
            throw new InvalidArgumentException("\"objective\": \"" + job.objective() + "\" and option loss_type "
                    + hyperparameters.get("loss_type") + " disagree: give one");
        }
        if (job.options().containsKey("checkpoint_every")) {
            JsonNode v = job.options().get("checkpoint_every");
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new InvalidArgumentException("option checkpoint_every must be an integer, found " + v);
            }
            b.checkpointEvery(v.intValue());
        }
        return b;
    }

    /** About 20 checkpoints over the job's estimated steps, at least one step apart. */
    public static int autoCheckpointEvery(FineTuneOptions o, int examples) {
        long steps = o.maxSteps() > 0
                ? o.maxSteps()
                : (long) o.epochs() * Math.max(1, (examples + o.batchSize() - 1) / o.batchSize());
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (steps + 19) / 20));
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
}
