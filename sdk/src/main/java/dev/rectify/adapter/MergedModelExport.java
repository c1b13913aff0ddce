package dev.rectify.adapter;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.FileTrees;
import dev.rectify.lora.AdapterMismatchException;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Exports a base model with an adapter folded into its weights as a standalone model folder that
 * {@link BaseModel#open} serves: {@code model.onnx}, the KV-cache export when the base has one, the tokenizer and
 * config files copied, and {@code rectify-merged.json} (adapter id, base model hash). Written to a temporary folder,
 * fsynced and renamed into place; an existing folder at the target is replaced only then.
 */
public final class MergedModelExport {
    /** Files copied unchanged from the base folder when present. */
    public static final List<String> COPIED = List.of(
            "tokenizer.json",
            "tokenizer_config.json",
            "config.json",
            "generation_config.json",
            "special_tokens_map.json",
            "chat_template.jinja");
    /** The provenance file. */
    public static final String PROVENANCE = "rectify-merged.json";

    private MergedModelExport() {}

    /** Writes {@code base} + {@code adapter} to {@code dir}; returns {@code dir}. */
    public static Path write(BaseModel base, Adapter adapter, Path dir) {
        if (!adapter.baseModelHash().equals(base.contentHash())) {
            throw new AdapterMismatchException(
                    AdapterMismatchException.Reason.OTHER_BASE,
                    "adapter " + adapter.id() + " belongs to another base model than " + base.directory());
        }
        Path src = base.directory();
        Path target = dir.toAbsolutePath().normalize();
        if (target.equals(src.toAbsolutePath().normalize())) {
            throw new InvalidArgumentException("cannot export a merged model over its own base folder " + src);
        }
        List<String> models = new ArrayList<>(List.of("model.onnx"));
        BaseModel.KV_CACHE_FILES.stream()
                .filter(f -> Files.isRegularFile(src.resolve(f)))
                .findFirst()
                .ifPresent(models::add);
        Path parent = target.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".");
            for (String name : models) {
                OnnxModel m = OnnxModel.read(src.resolve(name));
                OnnxModel merged = AdaptedModel.merge(m, adapter);
                if (usesExternalData(src.resolve(name))) {
                    merged.write(tmp.resolve(name), name + ".data", 1024);
                } else {
                    merged.write(tmp.resolve(name));
                }
            }
            for (String f : COPIED) {
                if (Files.isRegularFile(src.resolve(f))) {
                    Files.copy(src.resolve(f), tmp.resolve(f));
                    AtomicFile.fsync(tmp.resolve(f));
                }
            }
            String provenance = "{\n  \"adapter_id\": \"" + adapter.id() + "\",\n  \"base_model_hash\": \""
                    + adapter.baseModelHash() + "\",\n  \"kind\": \"" + adapter.kind() + "\",\n  \"created\": \""
                    + Instant.now() + "\"\n}\n";
            AtomicFile.writeSynced(tmp.resolve(PROVENANCE), provenance.getBytes(StandardCharsets.UTF_8));
            AtomicFile.fsyncDir(tmp);
            AtomicFile.replaceDirectory(tmp, target);
            tmp = null;
            return target;
        } catch (IOException e) {
            throw new RectifyException(
                    "cannot export the merged model to " + target + " (nothing was replaced): " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                FileTrees.deleteQuietly(tmp);
            }
        }
    }

    private static boolean usesExternalData(Path model) {
        try {
            return OnnxModel.parse(Files.readAllBytes(model)).hasExternalData();
        } catch (IOException e) {
            return false;
        }
    }
}
