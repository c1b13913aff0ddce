package dev.rectify.train;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.ContentHash;
import dev.rectify.core.io.FileTrees;
import dev.rectify.onnx.ModelHash;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Training artifacts on disk, keyed by content: sha-256 of (base model bytes including external data, the plan's
 * canonical form, the builder version and options). Building identical inputs again is a cache hit and rewrites
 * nothing. A build goes to a temporary folder beside the entries, every file is fsynced, and the folder is renamed
 * into place, so readers never see a half-written entry; concurrent builders of one key both succeed.
 */
public final class ArtifactCache {
    private final Path root;
    private final ArtifactBuilder builder;

    private ArtifactCache(Path root, ArtifactBuilder builder) {
        this.root = root.toAbsolutePath().normalize();
        this.builder = builder;
    }

    /** A cache under {@code root} using {@link ArtifactBuilder#defaults()}. */
    public static ArtifactCache at(Path root) {
        return at(root, ArtifactBuilder.defaults());
    }

    /** A cache under {@code root} building with {@code builder}. */
    public static ArtifactCache at(Path root, ArtifactBuilder builder) {
        if (root == null || builder == null) {
            throw new InvalidArgumentException("cache root and builder are required");
        }
        return new ArtifactCache(root, builder);
    }

    public Path root() {
        return root;
    }

    /** The cache key of {@code baseModel} and {@code plan} (hex sha-256). */
    public String key(Path baseModel, TrainingPlan plan) {
        return ContentHash.of(ArtifactBuilder.VERSION + "\n" + builder.canonicalOptions() + "\n"
                + ModelHash.of(baseModel) + "\n" + plan.canonical());
    }

    /** The folder an entry lives in. */
    public Path folder(Path baseModel, TrainingPlan plan) {
        return root.resolve(key(baseModel, plan).substring(0, 32));
    }

    /** Whether a complete entry exists. */
    public boolean contains(Path baseModel, TrainingPlan plan) {
        return Files.isRegularFile(folder(baseModel, plan).resolve(TrainingArtifacts.MANIFEST));
    }

    /** The cached artifacts, building them first on a miss. */
    public TrainingArtifacts getOrBuild(Path baseModel, TrainingPlan plan) {
        Path target = folder(baseModel, plan);
        if (Files.isRegularFile(target.resolve(TrainingArtifacts.MANIFEST))) {
            return TrainingArtifacts.fromDirectory(target);
        }
        Path tmp = null;
        try {
            Files.createDirectories(root);
            tmp = Files.createTempDirectory(root, "." + target.getFileName() + ".");
            builder.build(baseModel, plan, tmp);
            try (Stream<Path> files = Files.list(tmp)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    AtomicFile.fsync(f);
                }
            }
            AtomicFile.fsyncDir(tmp);
            if (Files.exists(target)) {
                FileTrees.delete(target); // an incomplete entry (no manifest): replace it
            }
            AtomicFile.publishDirectory(tmp, target); // false: another builder won the race, its entry is complete
            AtomicFile.fsyncDir(root);
            tmp = Files.exists(tmp) ? tmp : null;
            return TrainingArtifacts.fromDirectory(target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write training artifacts under " + root + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    FileTrees.delete(tmp);
                } catch (IOException e) {
                    // best effort
                }
            }
        }
    }
}
