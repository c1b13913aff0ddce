package dev.rectify.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.rectify.AdaptedModel;
import dev.rectify.Adapter;
import dev.rectify.BaseModel;
import dev.rectify.ChatMessage;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.lora.AdapterFiles;
import dev.rectify.server.db.AdapterRecord;
import dev.rectify.server.db.AdapterRepository;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The served models: the base, and every adapter recorded in the database. Adapters are loaded on first use (their
 * weights merged into a private copy of the base graph) and kept in a bounded cache ({@code rectify.adapters.cache-size});
 * pinned adapters stay loaded. A loaded model is reference-counted so eviction never closes one a request is using.
 */
@Singleton
public class AdapterRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(AdapterRegistry.class);

    private final BaseModel base;
    private final String baseName;
    private final Settings settings;
    private final AdapterRepository repo;
    private final Cache<String, Loaded> cache;
    private final Map<String, Loaded> pinned = new ConcurrentHashMap<>();
    private final Counter hits;
    private final Counter misses;

    public AdapterRegistry(BaseModel base, Settings settings, AdapterRepository repo, MeterRegistry meters) {
        this.base = base;
        this.baseName = ModelFactory.modelName(settings, base);
        this.settings = settings;
        this.repo = repo;
        this.cache = Caffeine.newBuilder().maximumSize(settings.adapterCacheSize())
                .removalListener((String k, Loaded v, RemovalCause c) -> {
                    if (v != null) {
                        v.retire();
                    }
                }).build();
        this.hits = Counter.builder("rectify.adapters.cache.hits").description("adapter lookups served from memory").register(meters);
        this.misses = Counter.builder("rectify.adapters.cache.misses").description("adapter lookups that loaded from disk").register(meters);
        meters.gauge("rectify.adapters.loaded", this, r -> r.cache.estimatedSize() + r.pinned.size());
        for (AdapterRecord r : repo.listOrderBySeq()) {
            if (r.isPinned()) {
                try {
                    pinned.put(r.getName(), load(r));
                } catch (RuntimeException e) {
                    LOG.warn("cannot load pinned adapter {}: {}", r.getName(), e.getMessage());
                }
            }
        }
    }

    public String baseName() {
        return baseName;
    }

    public BaseModel base() {
        return base;
    }

    /** A model for one request; close it when done. 404 for an unknown model, 400 for a malformed name. */
    public Lease acquire(String model) {
        Ids.checkModel(model, "model");
        if (model.equals(baseName)) {
            return new Lease(model, null, (p, s, l) -> base.generate(List.of(p), s, l).get(0), () -> { });
        }
        for (int attempt = 0; attempt < 5; attempt++) {
            Loaded l = pinned.get(model);
            if (l == null) {
                l = cache.getIfPresent(model);
                if (l != null) {
                    hits.increment();
                } else {
                    AdapterRecord r = repo.findById(model).orElseThrow(() -> unknown(model));
                    misses.increment();
                    l = cache.get(model, k -> load(r));
                }
            } else {
                hits.increment();
            }
            if (l.tryAcquire()) {
                Loaded held = l;
                return new Lease(model, l.record, (p, s, li) -> held.model.generate(List.of(p), s, li).get(0), held::release);
            }
        }
        throw new IllegalStateException("adapter " + model + " was evicted repeatedly while being acquired");
    }

    ApiException unknown(String model) {
        return ApiException.notFound("model", "model_not_found", "the model '" + model + "' does not exist; GET /v1/models lists "
                + "the base model (" + baseName + ") and the adapters");
    }

    private Loaded load(AdapterRecord r) {
        Path dir = settings.adaptersDir().resolve(r.getStorageName());
        Adapter a = AdapterFiles.read(dir, base.contentHash());
        LOG.info("loading adapter {} ({})", r.getName(), a);
        return new Loaded(r, base.with(a));
    }

    /** The folder an adapter's files live in. */
    public Path directory(AdapterRecord r) {
        return settings.adaptersDir().resolve(r.getStorageName());
    }

    public List<AdapterRecord> list() {
        return repo.listOrderBySeq();
    }

    public Optional<AdapterRecord> find(String name) {
        return repo.findById(name);
    }

    public boolean isLoaded(String name) {
        return pinned.containsKey(name) || cache.getIfPresent(name) != null;
    }

    /** Records a new adapter (its files already in the adapters folder) and makes it servable at once. */
    public AdapterRecord register(AdapterRecord r) {
        if (r.getName().equals(baseName) || repo.existsById(r.getName())) {
            throw ApiException.conflict("model_exists", "a model named '" + r.getName() + "' already exists");
        }
        repo.save(r);
        if (r.isPinned()) {
            pinned.put(r.getName(), load(r));
        }
        return r;
    }

    /** Drops the adapter from memory (it loads again on the next request); also unpins it. */
    public AdapterRecord unload(String name) {
        AdapterRecord r = repo.findById(name).orElseThrow(() -> unknown(name));
        if (r.isPinned()) {
            r.setPinned(false);
            repo.update(r);
        }
        Loaded p = pinned.remove(name);
        if (p != null) {
            p.retire();
        }
        cache.invalidate(name);
        return r;
    }

    public AdapterRecord pin(String name, boolean pin) {
        AdapterRecord r = repo.findById(name).orElseThrow(() -> unknown(name));
        r.setPinned(pin);
        repo.update(r);
        if (pin) {
            if (!pinned.containsKey(name)) {
                cache.invalidate(name);
                pinned.put(name, load(r));
            }
        } else {
            Loaded l = pinned.remove(name);
            if (l != null) {
                l.retire();
            }
        }
        return r;
    }

    /** Unregisters the adapter and deletes its files. */
    public AdapterRecord delete(String name) {
        AdapterRecord r = unload(name);
        repo.deleteById(name);
        Path dir = directory(r);
        if (dir.normalize().startsWith(settings.adaptersDir()) && Files.isDirectory(dir)) {
            try (var s = Files.walk(dir)) {
                for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(x);
                }
            } catch (IOException e) {
                LOG.warn("cannot delete {}: {}", dir, e.getMessage());
            }
        }
        return r;
    }

    @PreDestroy
    void close() {
        pinned.values().forEach(Loaded::retire);
        pinned.clear();
        cache.invalidateAll();
        cache.cleanUp();
    }

    /** Generation over the base or an adapted model. */
    @FunctionalInterface
    interface Gen {
        Generation generate(String prompt, Sampling sampling, TokenListener listener);
    }

    /** One request's hold on a model. */
    public final class Lease implements AutoCloseable {
        private final String name;
        private final AdapterRecord record;
        private final Gen gen;
        private final Runnable release;
        private final AtomicBoolean closed = new AtomicBoolean();

        Lease(String name, AdapterRecord record, Gen gen, Runnable release) {
            this.name = name;
            this.record = record;
            this.gen = gen;
            this.release = release;
        }

        public String name() {
            return name;
        }

        /** The adapter's record, or null for the base model. */
        public AdapterRecord record() {
            return record;
        }

        public String render(List<ChatMessage> messages) {
            return base.applyChatTemplate(messages, true);
        }

        public int countTokens(String text) {
            return base.tokenizer().encode(text).length;
        }

        public Generation generate(String prompt, Sampling sampling, TokenListener listener) {
            return gen.generate(prompt, sampling, listener);
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                release.run();
            }
        }
    }

    /** A loaded adapter with a reference count (the cache holds one reference). */
    static final class Loaded {
        final AdapterRecord record;
        final AdaptedModel model;
        private final AtomicInteger refs = new AtomicInteger(1);
        private final AtomicBoolean retired = new AtomicBoolean();

        Loaded(AdapterRecord record, AdaptedModel model) {
            this.record = record;
            this.model = model;
        }

        boolean tryAcquire() {
            while (true) {
                int r = refs.get();
                if (r == 0) {
                    return false;
                }
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                model.close();
            }
        }

        void retire() {
            if (retired.compareAndSet(false, true)) {
                release();
            }
        }
    }
}
