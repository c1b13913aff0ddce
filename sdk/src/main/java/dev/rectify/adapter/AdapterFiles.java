package dev.rectify.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.Objective;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.ContentHash;
import dev.rectify.core.io.FileTrees;
import dev.rectify.lora.CorruptAdapterException;
import dev.rectify.lora.PeftAdapterConfig;
import dev.rectify.lora.Safetensors;
import dev.rectify.train.EvalMetrics;
import dev.rectify.train.TrainedWeights;
import dev.rectify.train.TrainingResult;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Saves and loads adapters as folders in PEFT's layout, so they move between Rectify and the Python ecosystem:
 * {@code adapter_config.json} and {@code adapter_model.safetensors} (PEFT tensor names), plus Rectify's
 * {@code rectify-adapter.json} manifest (id, base model hash, objective, recipe, metrics, checksum). Writes are
 * atomic: a temporary folder, fsynced, renamed into place; an existing adapter at the target is replaced only then.
 */
public final class AdapterFiles {
    public static final String CONFIG = "adapter_config.json";
    public static final String WEIGHTS = "adapter_model.safetensors";
    public static final String MANIFEST = "rectify-adapter.json";

    private AdapterFiles() {}

    /**
     * Writes {@code adapter} to the folder {@code dir} (created or replaced), with its base's Hugging Face id or folder
     * ({@link Adapter#baseModelNameOrPath()}, null when unknown) as PEFT's {@code base_model_name_or_path}.
     */
    public static void write(Adapter adapter, Path dir) {
        write(adapter, dir, adapter.baseModelNameOrPath().orElse(null));
    }

    /**
     * Writes {@code adapter} to {@code dir} with {@code baseModelNameOrPath} (the base's Hugging Face id or folder)
     * as the PEFT config's {@code base_model_name_or_path}; the base's hash stays in {@link #MANIFEST}.
     */
    public static void write(Adapter adapter, Path dir, String baseModelNameOrPath) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode manifest = json.createObjectNode();
        manifest.put("id", adapter.id());
        manifest.put("base_model_hash", adapter.baseModelHash());
        manifest.put("kind", adapter.kind().name());
        adapter.objective().ifPresent(o -> manifest.put("objective", o.toString()));
        manifest.put("recipe", adapter.recipe());
        manifest.put("created", Instant.now().toString());
        manifest.putNull("weights_sha256"); // set once the weights are streamed, keeping the manifest's field order
        manifest.put("parameters", adapter.weights().parameterCount());
        adapter.result().ifPresent(r -> {
            ObjectNode m = manifest.putObject("metrics");
            putEval(m.putObject("initial_eval"), r.initialEval());
            putEval(m.putObject("final_eval"), r.finalEval());
            m.put("steps", r.steps());
            m.put("skipped_steps", r.skippedSteps());
            m.put("trained_tokens", r.trainedTokens());
            m.put("seconds", r.duration().toMillis() / 1000.0);
            m.put("stopped_early", r.stoppedEarly());
        });
        try {
            Path parent = dir.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempDirectory(parent, "." + dir.getFileName() + ".");
            try {
                manifest.put("weights_sha256", writeWeights(adapter, tmp.resolve(WEIGHTS)));
                if (adapter.kind() == Adapter.Kind.LORA) {
                    byte[] config = json.writerWithDefaultPrettyPrinter()
                            .writeValueAsBytes(PeftAdapterConfig.of(
                                    adapter.rank(),
                                    adapter.alpha(),
                                    adapter.loraDropout(),
                                    adapter.fanInFanOut(),
                                    adapter.targetModules(),
                                    baseModelNameOrPath));
                    AtomicFile.writeSynced(tmp.resolve(CONFIG), config);
                    manifest.put("config_sha256", ContentHash.of(config));
                }
                AtomicFile.writeSynced(
                        tmp.resolve(MANIFEST),
                        json.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
                AtomicFile.fsyncDir(tmp);
                AtomicFile.replaceDirectory(tmp, dir);
            } finally {
                if (Files.exists(tmp)) {
                    FileTrees.delete(tmp);
                }
            }
        } catch (IOException e) {
            throw new RectifyException(
                    "cannot write adapter to " + dir + " (nothing was replaced): " + e.getMessage(), e);
        }
    }

    /**
     * Reads an adapter folder: Rectify's own (with manifest, checksum verified) or a PEFT folder made elsewhere
     * (then {@code baseModelHash} must be given: the base it is declared for).
     */
    public static Adapter read(Path dir, String baseModelHashIfForeign) {
        Path weightsFile = dir.resolve(WEIGHTS);
        if (!Files.isRegularFile(weightsFile)) {
            throw ModelFormatException.at(dir, "no " + WEIGHTS + " in the adapter folder");
        }
        ObjectMapper json = new ObjectMapper();
        try {
            String weightsHash = ContentHash.of(weightsFile);
            JsonNode manifest = Files.isRegularFile(dir.resolve(MANIFEST))
                    ? json.readTree(dir.resolve(MANIFEST).toFile())
                    : null;
            if (manifest != null
                    && !weightsHash.equals(manifest.path("weights_sha256").asText())) {
                throw new CorruptAdapterException(
                        weightsFile + ": checksum mismatch: the adapter's weights are corrupt or truncated");
            }
            if (manifest != null
                    && manifest.hasNonNull("config_sha256")
                    && (!Files.isRegularFile(dir.resolve(CONFIG))
                            || !ContentHash.of(Files.readAllBytes(dir.resolve(CONFIG)))
                                    .equals(manifest.get("config_sha256").asText()))) {
                throw new CorruptAdapterException(dir.resolve(CONFIG)
                        + ": checksum mismatch: the adapter's configuration is " + "corrupt, truncated or missing");
            }
            Safetensors.Contents c = Safetensors.read(weightsFile);
            Adapter.Builder b = Adapter.builder().weights(new TrainedWeights(c.values(), c.shapes()));
            Adapter.Kind kind = manifest == null
                    ? Adapter.Kind.LORA
                    : Adapter.Kind.valueOf(manifest.path("kind").asText("LORA"));
            b.kind(kind);
            if (manifest != null) {
                b.id(manifest.path("id").asText())
                        .baseModelHash(manifest.path("base_model_hash").asText())
                        .recipe(manifest.path("recipe").asText(""));
                if (manifest.hasNonNull("objective")) {
                    b.objective(Objective.parse(manifest.get("objective").asText()));
                }
                if (manifest.has("metrics")) {
                    b.result(result(manifest.get("metrics"), new TrainedWeights(c.values(), c.shapes())));
                }
            } else {
                if (baseModelHashIfForeign == null) {
                    throw ModelFormatException.at(dir, "a PEFT adapter made elsewhere: say which base model it is for");
                }
                b.id(ContentHash.of("peft\n" + weightsHash))
                        .baseModelHash(baseModelHashIfForeign)
                        .recipe("peft:" + dir);
            }
            if (kind == Adapter.Kind.LORA) {
                Path cfg = dir.resolve(CONFIG);
                if (!Files.isRegularFile(cfg)) {
                    throw ModelFormatException.at(dir, "no " + CONFIG + " in the LoRA adapter folder");
                }
                JsonNode pc = json.readTree(cfg.toFile());
                if (!"LORA".equalsIgnoreCase(pc.path("peft_type").asText("LORA"))) {
                    throw ModelFormatException.at(
                            cfg, "peft_type " + pc.path("peft_type").asText() + " is not LORA");
                }
                if (pc.path("use_dora").asBoolean(false)
                        || pc.path("use_rslora").asBoolean(false)) {
                    throw ModelFormatException.at(cfg, "DoRA and rsLoRA adapters are not supported");
                }
                int r = pc.path("r").asInt(-1);
                double alpha = pc.path("lora_alpha").asDouble(r);
                Set<String> targets = new LinkedHashSet<>();
                JsonNode tm = pc.path("target_modules");
                if (tm.isArray()) {
                    tm.forEach(t -> targets.add(t.asText()));
                } else if (tm.isTextual()) {
                    throw ModelFormatException.at(
                            cfg, "target_modules as a regular expression is not supported; list the modules");
                }
                if (r < 1 || targets.isEmpty()) {
                    throw ModelFormatException.at(cfg, "needs r >= 1 and a target_modules list");
                }
                for (Map.Entry<String, long[]> e : c.shapes().entrySet()) {
                    boolean isA = e.getKey().endsWith(".lora_A.weight");
                    boolean isB = e.getKey().endsWith(".lora_B.weight");
                    if (!isA && !isB) {
                        throw ModelFormatException.at(
                                weightsFile, "tensor " + e.getKey() + " is not a LoRA A/B weight");
                    }
                    long[] s = e.getValue();
                    if (s.length != 2 || (isA && s[0] != r) || (isB && s[1] != r)) {
                        throw ModelFormatException.at(
                                weightsFile,
                                "tensor " + e.getKey() + " has shape " + Arrays.toString(s)
                                        + ", which does not match rank " + r);
                    }
                }
                b.lora(r, alpha, targets);
                JsonNode name = pc.path("base_model_name_or_path");
                b.peft(
                        name.isTextual() ? name.asText() : null,
                        pc.path("fan_in_fan_out").asBoolean(false),
                        pc.path("lora_dropout").asDouble(0.0));
            }
            return b.build();
        } catch (IOException e) {
            throw ModelFormatException.at(dir, "cannot read the adapter: " + e.getMessage(), e);
        }
    }

    /**
     * Streams the adapter's weights as safetensors into {@code file} (fsynced; the caller's temporary folder makes it
     * atomic) and returns their sha-256: no byte array of the whole file, so full fine-tunes of any size write.
     */
    private static String writeWeights(Adapter adapter, Path file) throws IOException {
        MessageDigest digest = ContentHash.sha256();
        try (FileOutputStream raw = new FileOutputStream(file.toFile());
                DigestOutputStream out = new DigestOutputStream(new BufferedOutputStream(raw, 1 << 20), digest)) {
            Safetensors.write(
                    out,
                    adapter.weights().values(),
                    adapter.weights().shapes(),
                    Map.of("format", "pt", "rectify.adapter_id", adapter.id()));
            out.flush();
            raw.getFD().sync();
        }
        return ContentHash.hex(digest.digest());
    }

    private static TrainingResult result(JsonNode m, TrainedWeights w) {
        return new TrainingResult(
                w,
                eval(m.path("initial_eval")),
                eval(m.path("final_eval")),
                m.path("steps").asInt(),
                m.path("skipped_steps").asInt(),
                m.path("trained_tokens").asLong(),
                Duration.ofMillis(Math.round(m.path("seconds").asDouble() * 1000)),
                m.path("stopped_early").asBoolean(false),
                List.of());
    }

    private static EvalMetrics eval(JsonNode n) {
        if (!n.has("tokens")) {
            return EvalMetrics.NONE;
        }
        return new EvalMetrics(
                n.path("loss").asDouble(),
                n.path("nll").asDouble(),
                n.path("token_accuracy").asDouble(),
                n.path("tokens").asLong());
    }

    private static void putEval(ObjectNode n, EvalMetrics m) {
        if (m == null || m.isEmpty()) {
            return;
        }
        n.put("loss", m.loss());
        n.put("nll", m.nll());
        n.put("token_accuracy", m.tokenAccuracy());
        n.put("tokens", m.tokens());
    }
}
