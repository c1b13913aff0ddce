package dev.rectify.lora;

import dev.rectify.core.ModelFormatException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.ContentHash;
import dev.rectify.core.io.FileTrees;
import dev.rectify.onnx.ModelHash;
import dev.rectify.onnx.OnnxModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/**
 * Multi-adapter serving graphs ({@link MultiLoraGraph}) on disk, built once per base export and target set and
 * keyed by content: sha-256 of (builder version, the export's bytes with external data, the sorted targets). An
 * entry is written to a temporary folder, fsynced and renamed into place, so readers never see half an entry.
 */
public final class ServingGraphCache {
    /** Bump when the serving graph's construction changes. */
    static final String VERSION = "multi-lora-1";

    static final String MODEL = "model.onnx";
    static final String LAYOUT = "layout.json";

    private final Path root;

    private ServingGraphCache(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** A cache under {@code root}. */
    public static ServingGraphCache at(Path root) {
        return new ServingGraphCache(root);
    }

    /** A cached serving graph: the model file to open and its layout. */
    public record Entry(Path model, ServingLayout layout, boolean built) {}

    /** The cache key of a base export and target set. */
    public String key(Path baseExport, Set<String> targetModules) {
        return ContentHash.of(VERSION + "\n" + ModelHash.of(baseExport) + "\n" + new TreeSet<>(targetModules));
    }

    /** The serving graph for {@code baseExport}, building it on a miss. */
    public Entry getOrBuild(Path baseExport, Set<String> targetModules) {
        Path target = root.resolve(key(baseExport, targetModules).substring(0, 32));
        if (Files.isRegularFile(target.resolve(LAYOUT))) {
            return read(target, false);
        }
        Path tmp = null;
        try {
            Files.createDirectories(root);
            tmp = Files.createTempDirectory(root, "." + target.getFileName() + ".");
            OnnxModel base = OnnxModel.read(baseExport);
            boolean external = base.hasExternalData() || Files.size(baseExport) > (1L << 30);
            MultiLoraGraph.Built built = MultiLoraGraph.build(base, targetModules);
            if (external) {
                built.model().write(tmp.resolve(MODEL), MODEL + ".data", 1024);
            } else {
                built.model().write(tmp.resolve(MODEL));
            }
            Files.writeString(tmp.resolve(LAYOUT), built.layout().toJson());
            AtomicFile.fsync(tmp.resolve(LAYOUT));
            AtomicFile.fsyncDir(tmp);
            // false: a concurrent builder won, and its entry is complete (the layout is written last)
            AtomicFile.publishDirectory(tmp, target);
            AtomicFile.fsyncDir(root);
            return read(target, true);
        } catch (IOException e) {
            throw new RectifyException("cannot write the serving graph under " + root + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                FileTrees.deleteQuietly(tmp);
            }
        }
    }

    private static Entry read(Path dir, boolean built) {
        try {
            String json = Files.readString(dir.resolve(LAYOUT), StandardCharsets.UTF_8);
            return new Entry(
                    dir.resolve(MODEL),
                    ServingLayout.fromJson(json, dir.resolve(LAYOUT).toString()),
                    built);
        } catch (IOException e) {
            throw ModelFormatException.at(dir, "cannot read the cached serving graph: " + e.getMessage(), e);
        }
    }
}
