package dev.rectify.job;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One store for the artefacts that several processes (server replicas, Spark executors) share: training inputs,
 * checkpoints of running fine-tunes (so that another process resumes a job from its last checkpoint), published
 * adapters, and the content-addressed {@link AdapterStore} the multi-LoRA model serves from. It is a folder on
 * storage every process mounts (NFS, a shared volume): {@code files/}, {@code runs/JOB/}, {@code adapters/NAME/},
 * {@code adapter-store/}. Publishing is atomic (a staged folder or temporary file, fsynced, renamed into place with
 * {@link AtomicFile}): a reader sees a whole adapter or none, and a process killed while publishing leaves the
 * earlier version. Coordination (who trains what) is not the store's job: that is the database's (the server) or
 * the driver's (Spark).
 */
public final class SharedStore {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}");
    private final Path root;

    private SharedStore(Path root) {
        this.root = root;
    }

    /** The store in folder {@code root} (created when missing). */
    public static SharedStore open(Path root) {
        Path r = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(r);
        } catch (IOException e) {
            throw new RectifyException("cannot create the shared store folder " + r + ": " + e.getMessage(), e);
        }
        return new SharedStore(r);
    }

    public Path root() {
        return root;
    }

    /** Uploaded training and validation files. */
    public Path filesDir() {
        return root.resolve("files");
    }

    /** Checkpoint folders of fine-tunes, one per job. */
    public Path runsDir() {
        return root.resolve("runs");
    }

    /** The checkpoint folder of job {@code id} (may not exist yet): any process resumes the job from it. */
    public Path runDir(String id) {
        return runsDir().resolve(check(id, "job id"));
    }

    /** Published adapters, one folder per name. */
    public Path adaptersDir() {
        return root.resolve("adapters");
    }

    /** The folder adapter {@code name} is published in (may not exist). */
    public Path adapterDir(String name) {
        return adaptersDir().resolve(check(name, "adapter name"));
    }

    /** The content-addressed adapter store (served by the multi-LoRA model). */
    public Path adapterStoreDir() {
        return root.resolve("adapter-store");
    }

    /** Opens {@link #adapterStoreDir()}. */
    public AdapterStore adapterStore() {
        return AdapterStore.open(adapterStoreDir());
    }

    /** Publishes {@code adapter} as {@code name} atomically (replacing an earlier one); returns its folder. */
    public Path publish(String name, Adapter adapter) {
        Path dir = adapterDir(name);
        AdapterFiles.write(adapter, dir); // staged beside it, then AtomicFile.replaceDirectory
        return dir;
    }

    /** Writes {@code data} to {@code relative} (a path inside the store) atomically. */
    public Path publishFile(String relative, byte[] data) {
        Path p = root.resolve(relative).normalize();
        if (!p.startsWith(root) || p.equals(root)) {
            throw new InvalidArgumentException("'" + relative + "' is not a file path inside the shared store " + root);
        }
        try {
            AtomicFile.write(p, data);
        } catch (IOException e) {
            throw new RectifyException("cannot publish " + p + ": " + e.getMessage(), e);
        }
        return p;
    }

    /** The adapter published as {@code name}, if complete; {@code baseHashIfForeign} as for {@link AdapterFiles#read}. */
    public Optional<Adapter> find(String name, String baseHashIfForeign) {
        Path dir = adapterDir(name);
        if (!Files.isRegularFile(dir.resolve(AdapterFiles.WEIGHTS))) {
            return Optional.empty();
        }
        return Optional.of(AdapterFiles.read(dir, baseHashIfForeign));
    }

    /** Deletes the published adapter {@code name}; false when there was none. */
    public boolean delete(String name) {
        Path dir = adapterDir(name);
        if (!Files.exists(dir)) {
            return false;
        }
        try {
            FileTrees.delete(dir);
        } catch (IOException e) {
            throw new RectifyException("cannot delete the published adapter " + dir + ": " + e.getMessage(), e);
        }
        return true;
    }

    /** Deletes the checkpoints of job {@code id} (no-op when none). */
    public void deleteRun(String id) {
        FileTrees.deleteQuietly(runDir(id));
    }

    private static String check(String name, String what) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidArgumentException(
                    "invalid " + what + " '" + name + "' for the shared store: use letters, digits and "
                            + "._:+- (at most 128, not starting with a symbol)");
        }
        return name;
    }

    @Override
    public String toString() {
        return "SharedStore(" + root + ")";
    }
}
