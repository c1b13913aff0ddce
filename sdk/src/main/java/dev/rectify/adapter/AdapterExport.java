package dev.rectify.adapter;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.FileTrees;
import dev.rectify.lora.AdapterMismatchException;
import dev.rectify.lora.MultiLoraGraph;
import dev.rectify.lora.PeftAdapterConfig;
import dev.rectify.lora.ServingLayout;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Exports an adapter for use outside Rectify, in one of three formats:
 * <ul>
 * <li>{@link Format#PEFT}: a PEFT folder ({@code adapter_config.json} with {@code base_model_name_or_path} set to the
 *     base's Hugging Face id or folder, {@code adapter_model.safetensors}, Rectify's manifest with the base's hash);</li>
 * <li>{@link Format#ONNX_ADAPTER}: ONNX Runtime's multi-LoRA layout: the base's exports rewritten with optional LoRA
 *     inputs ({@link MultiLoraGraph}), {@code adapter.onnx_adapter} whose parameters override them (ORT's
 *     {@code OrtLoraAdapter} / {@code RunOptions.add_active_adapter}), the tokenizer and config files;</li>
 * <li>{@link Format#MERGED}: the base with the adapter folded into its weights ({@link MergedModelExport}).</li>
 * </ul>
 * Every format is written to a temporary folder, fsynced and renamed into place.
 */
public final class AdapterExport {
    /** The export formats. */
    public enum Format {
        PEFT,
        ONNX_ADAPTER,
        MERGED;

        /** {@code peft}, {@code onnx-adapter} or {@code merged} (case-insensitive). */
        public static Format parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT).replace('_', '-')) {
                case "peft" -> PEFT;
                case "onnx-adapter" -> ONNX_ADAPTER;
                case "merged" -> MERGED;
                default ->
                    throw new InvalidArgumentException(
                            "unknown export format '" + s + "': use peft, onnx-adapter or merged");
            };
        }
    }

    /** The adapter file of an {@link Format#ONNX_ADAPTER} export. */
    public static final String ONNX_ADAPTER_FILE = "adapter.onnx_adapter";
    /** The provenance and usage file of an {@link Format#ONNX_ADAPTER} export. */
    public static final String ONNX_ADAPTER_MANIFEST = "rectify-onnx-adapter.json";

    private AdapterExport() {}

    /**
     * Writes {@code adapter} (trained on {@code base}) to {@code dir} in {@code format}; {@code baseModelNameOrPath}
     * (PEFT only) overrides the base's name, else {@link #baseModelNameOrPath(BaseModel)}. Returns {@code dir}.
     */
    public static Path write(BaseModel base, Adapter adapter, Format format, Path dir, String baseModelNameOrPath) {
        if (!adapter.baseModelHash().equals(base.contentHash())) {
            throw new AdapterMismatchException(
                    AdapterMismatchException.Reason.OTHER_BASE,
                    "adapter "
                            + adapter.id()
                                    .substring(0, Math.min(12, adapter.id().length())) + " was trained on base model "
                            + adapter.baseModelHash()
                                    .substring(
                                            0,
                                            Math.min(12, adapter.baseModelHash().length())) + ", not "
                            + base.directory() + ": pass the base it was trained on (--model)");
        }
        Path target = dir.toAbsolutePath().normalize();
        switch (format) {
            case PEFT -> {
                if (adapter.kind() != Adapter.Kind.LORA) {
                    throw new InvalidArgumentException("adapter " + adapter.id().substring(0, 12)
                            + " is a full fine-tune: " + "PEFT folders hold LoRA adapters; export it as merged");
                }
                AdapterFiles.write(
                        adapter, target, baseModelNameOrPath != null ? baseModelNameOrPath : baseModelNameOrPath(base));
            }
            case ONNX_ADAPTER -> writeOnnxAdapter(base, adapter, target);
            case MERGED -> MergedModelExport.write(base, adapter, target);
            default -> throw new IllegalStateException(format.toString());
        }
        return target;
    }

    /**
     * Sets on {@code b} what PEFT's config says about a LoRA adapter of {@code base} beyond its shape: the base's id
     * or path ({@link #baseModelNameOrPath}), {@code fan_in_fan_out} (true for Conv1D model types such as GPT-2, as
     * PEFT sets it) and the {@code lora_dropout} it was trained with.
     */
    public static Adapter.Builder describeBase(Adapter.Builder b, BaseModel base, double loraDropout) {
        return b.peft(
                baseModelNameOrPath(base),
                PeftAdapterConfig.fanInFanOut(base.config().modelType()),
                loraDropout);
    }

    /**
     * The base's Hugging Face id or path: {@code _name_or_path} from its {@code config.json} when set (what
     * Transformers records for a model it saved or exported), else the absolute path of its folder.
     */
    public static String baseModelNameOrPath(BaseModel base) {
        Path config = base.directory().resolve("config.json");
        if (Files.isRegularFile(config)) {
            try {
                String name = new ObjectMapper()
                        .readTree(config.toFile())
                        .path("_name_or_path")
                        .asText("");
                if (!name.isBlank()) {
                    return name;
                }
            } catch (IOException e) {
                throw new RectifyException(config + ": cannot read: " + e.getMessage(), e);
            }
        }
        return base.directory().toAbsolutePath().normalize().toString();
    }

    private static void writeOnnxAdapter(BaseModel base, Adapter adapter, Path target) {
        if (adapter.kind() != Adapter.Kind.LORA) {
            throw new InvalidArgumentException("adapter " + adapter.id().substring(0, 12) + " is a full fine-tune: an "
                    + ".onnx_adapter holds LoRA weights; export it as merged");
        }
        Path src = base.directory();
        if (target.equals(src.toAbsolutePath().normalize())) {
            throw new InvalidArgumentException("cannot export over the base model's own folder " + src);
        }
        List<String> exports = new ArrayList<>(List.of("model.onnx"));
        BaseModel.KV_CACHE_FILES.stream()
                .filter(f -> Files.isRegularFile(src.resolve(f)))
                .findFirst()
                .ifPresent(exports::add);
        Path parent = target.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".");
            ServingLayout layout = null;
            for (String name : exports) {
                OnnxModel m = OnnxModel.read(src.resolve(name));
                boolean external = m.hasExternalData() || Files.size(src.resolve(name)) > (1L << 30);
                MultiLoraGraph.Built built = MultiLoraGraph.build(m, adapter.targetModules());
                if (external) {
                    built.model().write(tmp.resolve(name), name + ".data", 1024);
                } else {
                    built.model().write(tmp.resolve(name));
                }
                layout = built.layout();
            }
            AtomicFile.writeSynced(tmp.resolve(ONNX_ADAPTER_FILE), AdapterLayouts.toOnnxAdapter(layout, adapter));
            for (String f : MergedModelExport.COPIED) {
                if (Files.isRegularFile(src.resolve(f))) {
                    Files.copy(src.resolve(f), tmp.resolve(f));
                    AtomicFile.fsync(tmp.resolve(f));
                }
            }
            ObjectMapper json = new ObjectMapper();
            ObjectNode manifest = json.createObjectNode();
            manifest.put("adapter_id", adapter.id());
            manifest.put("base_model_hash", adapter.baseModelHash());
            manifest.put("base_model_name_or_path", baseModelNameOrPath(base));
            manifest.put("adapter_file", ONNX_ADAPTER_FILE);
            manifest.put("scale_input", ServingLayout.SCALE_INPUT);
            manifest.put("r", adapter.rank());
            manifest.put("lora_alpha", adapter.alpha());
            var models = manifest.putArray("models");
            exports.forEach(models::add);
            manifest.put(
                    "usage",
                    "Open a model file with ONNX Runtime, load " + ONNX_ADAPTER_FILE + " as an OrtLoraAdapter "
                            + "and activate it in the run options of each run; without it the model computes the base model.");
            manifest.put("created", Instant.now().toString());
            AtomicFile.writeSynced(
                    tmp.resolve(ONNX_ADAPTER_MANIFEST),
                    json.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
            AtomicFile.fsyncDir(tmp);
            AtomicFile.replaceDirectory(tmp, target);
            tmp = null;
        } catch (IOException e) {
            throw new RectifyException(
                    "cannot export the ONNX Runtime adapter to " + target + " (nothing was replaced): "
                            + e.getMessage(),
                    e);
        } finally {
            if (tmp != null) {
                FileTrees.deleteQuietly(tmp);
            }
        }
    }
}
