package dev.rectify.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.FileTrees;
import dev.rectify.lora.CorruptAdapterException;
import dev.rectify.model.BundledModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapters on disk under their content-addressed ids: {@code <root>/<id>/} holds the PEFT files and Rectify's
 * manifest ({@link AdapterFiles}: metrics, options, creation time, base model hash, checksums). Writes are atomic
 * (temporary folder, fsync, rename); {@link #get} verifies checksums and throws {@link CorruptAdapterException} for a
 * corrupt or truncated entry, which is then never returned. Ids are 16–128 lowercase hex digits, so none names a
 * path outside the root. Pins live in {@code <root>/.pins/}. Thread-safe; several stores on one root in one
 * process are safe, several processes are safe for reads and for writes of distinct ids.
 */
public final class AdapterStore {
    private static final Logger LOG = LoggerFactory.getLogger(AdapterStore.class);
    private static final Pattern ID = Pattern.compile("[0-9a-f]{16,128}");
    private static final ConcurrentHashMap<String, CompletableFuture<Adapter>> FLIGHTS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, Object> LOCKS = new ConcurrentHashMap<>();

    private static final ConcurrentHashMap<Path, List<Consumer<String>>> REMOVAL_LISTENERS = new ConcurrentHashMap<>();

    private final Path root;

    private AdapterStore(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /** A store under {@code root} (created on first write). */
    public static AdapterStore open(Path root) {
        return new AdapterStore(root);
    }

    /** The store under Rectify's home ({@code <home>/adapters}). */
    public static AdapterStore defaultStore() {
        return open(BundledModel.home().resolve("adapters"));
    }

    public Path root() {
        return root;
    }

    /** Throws {@link InvalidAdapterIdException} unless {@code id} is 16 to 128 lowercase hex digits. */
    public static String checkId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new InvalidAdapterIdException(
                    "invalid adapter id '" + id + "': expected 16 to 128 lowercase hex digits");
        }
        return id;
    }

    /** The folder of an adapter (it may not exist). */
    public Path folder(String id) {
        return root.resolve(checkId(id));
    }

    /** Whether an entry with a manifest exists (its checksum is checked by {@link #get}). */
    public boolean contains(String id) {
        return Files.isRegularFile(folder(id).resolve(AdapterFiles.MANIFEST));
    }

    /**
     * Stores {@code adapter} under its id, unless a valid entry with that id exists (ids are content hashes: same
     * id, same adapter). A corrupt entry is replaced. Returns the id.
     */
    public String put(Adapter adapter) {
        String id = checkId(adapter.id());
        synchronized (lock(id)) {
            if (contains(id)) {
                try {
                    get(id);
                    return id;
                } catch (CorruptAdapterException e) {
                    LOG.warn("replacing corrupt stored adapter {}: {}", id, e.getMessage());
                }
            }
            AdapterFiles.write(adapter, folder(id));
            return id;
        }
    }

    /** The adapter with checksums verified; {@link AdapterNotFoundException} or {@link CorruptAdapterException}. */
    public Adapter get(String id) {
        return find(id).orElseThrow(
                        () -> new AdapterNotFoundException(id, "no adapter " + id + " in the store " + root));
    }

    /** The adapter if stored (checksums verified; a corrupt entry throws {@link CorruptAdapterException}). */
    public Optional<Adapter> find(String id) {
        Path dir = folder(id);
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        if (!Files.isRegularFile(dir.resolve(AdapterFiles.MANIFEST))) {
            throw new CorruptAdapterException(dir + ": stored adapter has no manifest (incomplete or damaged entry)");
        }
        Adapter a;
        try {
            a = AdapterFiles.read(dir, null);
        } catch (CorruptAdapterException e) {
            throw e;
        } catch (ModelFormatException | IllegalArgumentException e) {
            throw new CorruptAdapterException(dir + ": stored adapter cannot be read: " + e.getMessage(), e);
        }
        if (!a.id().equals(id)) {
            throw new CorruptAdapterException(dir + ": the manifest names adapter " + a.id() + ", not " + id);
        }
        return Optional.of(a);
    }

    /** The manifest of an adapter, without reading its weights. */
    public AdapterInfo info(String id) {
        Path dir = folder(id);
        Path manifest = dir.resolve(AdapterFiles.MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            if (Files.isDirectory(dir)) {
                throw new CorruptAdapterException(dir + ": stored adapter has no manifest");
            }
            throw new AdapterNotFoundException(id, "no adapter " + id + " in the store " + root);
        }
        try {
            JsonNode m = new ObjectMapper().readTree(manifest.toFile());
            long bytes = 0;
            try (var files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    bytes += Files.size(f);
                }
            }
            return new AdapterInfo(
                    id,
                    m.path("base_model_hash").asText(),
                    Adapter.Kind.valueOf(m.path("kind").asText("LORA")),
                    m.hasNonNull("objective") ? m.get("objective").asText() : null,
                    m.path("recipe").asText(""),
                    m.hasNonNull("created") ? Instant.parse(m.get("created").asText()) : Instant.EPOCH,
                    m.path("parameters").asLong(),
                    bytes,
                    isPinned(id));
        } catch (IOException | RuntimeException e) {
            throw new CorruptAdapterException(manifest + ": unreadable manifest: " + e.getMessage(), e);
        }
    }

    /** Every stored adapter's manifest, newest first; entries whose manifest is unreadable are logged and skipped. */
    public List<AdapterInfo> list() {
        List<AdapterInfo> out = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (var dirs = Files.list(root)) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                String name = d.getFileName().toString();
                if (!ID.matcher(name).matches() || !Files.isDirectory(d)) {
                    continue;
                }
                try {
                    out.add(info(name));
                } catch (CorruptAdapterException e) {
                    LOG.warn("skipping damaged stored adapter: {}", e.getMessage());
                }
            }
        } catch (IOException e) {
            throw new RectifyException("cannot list the adapter store " + root + ": " + e.getMessage(), e);
        }
        out.sort(Comparator.comparing(AdapterInfo::created).reversed().thenComparing(AdapterInfo::id));
        return out;
    }

    /**
     * Deletes an adapter (renamed aside atomically, then removed); false if absent. A pinned adapter is refused
     * with {@link AdapterPinnedException}. Listeners (caches) are told, so no one serves it afterwards.
     */
    public boolean delete(String id) {
        Path dir = folder(id);
        synchronized (lock(id)) {
            if (isPinned(id)) {
                throw new AdapterPinnedException("adapter " + id + " is pinned: unpin it before deleting it");
            }
            if (!Files.exists(dir)) {
                return false;
            }
            try {
                Path aside = root.resolve("." + id + ".deleted-" + System.nanoTime());
                Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
                AtomicFile.fsyncDir(root);
                FileTrees.deleteQuietly(aside);
            } catch (IOException e) {
                throw new RectifyException("cannot delete adapter " + id + " from " + root + ": " + e.getMessage(), e);
            }
        }
        REMOVAL_LISTENERS.getOrDefault(root, List.of()).forEach(l -> l.accept(id));
        return true;
    }

    /** Pins an adapter: caches keep it loaded, and it cannot be deleted until unpinned. */
    public void pin(String id) {
        if (!contains(id)) {
            throw new AdapterNotFoundException(id, "no adapter " + id + " in the store " + root + " to pin");
        }
        try {
            Path pins = root.resolve(".pins");
            Files.createDirectories(pins);
            if (!Files.exists(pins.resolve(id))) {
                Files.writeString(pins.resolve(id), Instant.now().toString());
            }
        } catch (IOException e) {
            throw new RectifyException("cannot pin adapter " + id + ": " + e.getMessage(), e);
        }
    }

    /** Removes a pin (no-op when not pinned). */
    public void unpin(String id) {
        try {
            Files.deleteIfExists(root.resolve(".pins").resolve(checkId(id)));
        } catch (IOException e) {
            throw new RectifyException("cannot unpin adapter " + id + ": " + e.getMessage(), e);
        }
    }

    public boolean isPinned(String id) {
        return Files.exists(root.resolve(".pins").resolve(checkId(id)));
    }

    /**
     * Calls {@code listener} with the id of every adapter deleted through any store object on this root in this
     * process, until the returned registration is closed.
     */
    public AutoCloseable onRemoval(Consumer<String> listener) {
        List<Consumer<String>> list = REMOVAL_LISTENERS.computeIfAbsent(root, k -> new CopyOnWriteArrayList<>());
        list.add(listener);
        return () -> list.remove(listener);
    }

    /**
     * The stored adapter {@code id}, or else the one {@code make} produces, stored before it is returned. Concurrent
     * callers for one id (on any store object with this root) share a single call of {@code make} and get its
     * result or its exception. A corrupt stored entry counts as absent and is replaced.
     */
    public Adapter getOrCreate(String id, Supplier<Adapter> make) {
        checkId(id);
        Optional<Adapter> have = findQuietly(id);
        if (have.isPresent()) {
            return have.get();
        }
        String key = root + "\n" + id;
        CompletableFuture<Adapter> mine = new CompletableFuture<>();
        CompletableFuture<Adapter> running = FLIGHTS.putIfAbsent(key, mine);
        if (running != null) {
            try {
                return running.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }
        try {
            Adapter a = findQuietly(id).orElse(null);
            if (a == null) {
                a = make.get();
                if (!a.id().equals(id)) {
                    throw new IllegalStateException("made adapter " + a.id() + " for id " + id);
                }
                try {
                    put(a);
                } catch (RectifyException e) {
                    LOG.warn(
                            "could not store adapter {} (it is returned but will be trained again): {}",
                            id,
                            e.getMessage());
                }
            }
            mine.complete(a);
            return a;
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            FLIGHTS.remove(key, mine);
        }
    }

    private Optional<Adapter> findQuietly(String id) {
        try {
            return find(id);
        } catch (CorruptAdapterException e) {
            LOG.warn("stored adapter {} is damaged and will be made again: {}", id, e.getMessage());
            return Optional.empty();
        }
    }

    private Object lock(String id) {
        return LOCKS.computeIfAbsent(root + "\n" + id, k -> new Object());
    }

    @Override
    public String toString() {
        return "AdapterStore[" + root + "]";
    }
}
