package dev.rectify.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.adapter.AdapterNotFoundException;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.adapter.MultiLoraModel;
import dev.rectify.core.io.FileTrees;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.lora.AdapterMismatchException;
import dev.rectify.model.BaseModel;
import dev.rectify.server.db.AdapterRecord;
import dev.rectify.server.db.AdapterRepository;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The served models: the base, and every adapter recorded in the database. LoRA adapters are served by one
 * {@link MultiLoraModel} over the base (a single ONNX Runtime session; a request activates its adapter through run
 * options): they are kept in a content-addressed {@link AdapterStore} under {@code <data-dir>/adapter-store} (a record's
 * {@code adapterId} is its store id) and loaded into a cache bounded by {@code rectify.adapters.cache-bytes}. Full
 * fine-tunes cannot be served that way: each is merged into a private copy of the base graph, kept in a bounded cache
 * ({@code rectify.adapters.cache-size}) and reference-counted so eviction never closes one a request is using. Pinned
 * adapters stay loaded either way.
 *
 * <p>Replicas share the adapters folder and the store ({@code rectify.store.dir}) and the records: an adapter
 * registered by one is served by the others as soon as a request names it. Pin, unpin, unload and delete change the
 * record (and the shared store) on the replica asked, then signal the others ({@link ClusterSignals}), which apply
 * the record's new state to what they hold in memory ({@link #refresh}). Unreferenced stored adapters are pruned at
 * startup only when older than an hour (another replica may be registering one).
 *
 * <p>Over 400 lines because registering, loading, pinning, unloading and deleting adapters, and applying other
 * replicas' signals, all change the same maps and caches under one lock; a request's hold on a model is a {@link
 * ModelLease}, a reference-counted loaded model a {@link LoadedModel}.
 */
@Singleton
public class AdapterRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(AdapterRegistry.class);

    private final BaseModel base;
    private final String baseName;
    private final Settings settings;
    private final AdapterRepository repo;
    private final MultiLoraModel multi;
    /** The multi-LoRA model with a reference count, so closing the server never frees it under a running request. */
    private final LoadedModel served;
    /** Server name of each LoRA adapter: its store id. */
    private final Map<String, String> loraIds = new ConcurrentHashMap<>();
    /** Server names of full fine-tunes (served merged). */
    private final Set<String> fullNames = ConcurrentHashMap.newKeySet();

    private final Cache<String, LoadedModel> cache;
    private final Map<String, LoadedModel> pinned = new ConcurrentHashMap<>();
    private final AtomicLong mergedHits = new AtomicLong();
    private final AtomicLong mergedMisses = new AtomicLong();

    private final ClusterSignals signals;

    public AdapterRegistry(
            BaseModel base, Settings settings, AdapterRepository repo, MeterRegistry meters, ClusterSignals signals) {
        this.signals = signals;
        this.base = base;
        this.baseName = ModelFactory.modelName(settings, base);
        this.settings = settings;
        this.repo = repo;
        this.multi = MultiLoraModel.builder(base)
                .store(AdapterStore.open(settings.adapterStoreDir()))
                .cacheBytes(settings.adapterCacheBytes())
                .build();
        this.served = new LoadedModel(null, multi);
        this.cache = Caffeine.newBuilder()
                .maximumSize(settings.adapterCacheSize())
                .removalListener((String k, LoadedModel v, RemovalCause c) -> {
                    if (v != null) {
                        v.retire();
                    }
                })
                .build();
        FunctionCounter.builder(
                        "rectify.adapters.cache.hits",
                        this,
                        r -> r.multi.cache().stats().hits() + r.mergedHits.get())
                .description("adapter lookups served from memory")
                .register(meters);
        FunctionCounter.builder(
                        "rectify.adapters.cache.misses",
                        this,
                        r -> r.multi.cache().stats().misses() + r.mergedMisses.get())
                .description("adapter lookups that loaded from disk")
                .register(meters);
        meters.gauge(
                "rectify.adapters.loaded",
                this,
                r -> r.multi.cache().stats().entries() + r.cache.estimatedSize() + r.pinned.size());
        try {
            List<AdapterRecord> records = repo.listOrderBySeq();
            for (AdapterRecord r : records) {
                try {
                    index(r);
                } catch (RuntimeException e) {
                    LOG.warn("cannot register adapter {}: {}", r.getName(), e.getMessage());
                }
            }
            prune(records);
            for (AdapterRecord r : records) {
                String id = loraIds.get(r.getName());
                try {
                    if (id != null) {
                        if (r.isPinned()) {
                            multi.pin(id);
                        } else if (!anyPinned(id, null)) {
                            multi.unpin(id);
                        }
                    } else if (r.isPinned() && fullNames.contains(r.getName())) {
                        pinned.put(r.getName(), load(r));
                    }
                } catch (RuntimeException e) {
                    LOG.warn("cannot load pinned adapter {}: {}", r.getName(), e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            multi.close();
            throw e;
        }
        signals.on("adapter", this::refresh);
        signals.on("adapter-unload", this::unloadedElsewhere);
    }

    /**
     * Applies another replica's change of adapter {@code name} to this replica's memory: a deleted record is
     * forgotten (its files and stored copy were deleted by that replica), a pinned one is loaded and kept, an
     * unpinned one may be evicted again.
     */
    synchronized void refresh(String name) {
        Optional<AdapterRecord> rec = repo.findById(name);
        if (rec.isEmpty()) {
            fullNames.remove(name);
            String id = loraIds.remove(name);
            if (id != null && !anyUses(id, name)) {
                multi.cache().invalidate(id);
            }
            LoadedModel p = pinned.remove(name);
            if (p != null) {
                p.retire();
            }
            cache.invalidate(name);
            return;
        }
        AdapterRecord r = rec.get();
        if (!loraIds.containsKey(name) && !fullNames.contains(name)) {
            if (!r.isPinned()) {
                return; // not held here
            }
            index(r);
        }
        String id = loraIds.get(name);
        if (id != null) {
            if (r.isPinned()) {
                multi.pin(id);
            } else if (!anyPinned(id, name)) {
                multi.unpin(id);
            }
            return;
        }
        if (r.isPinned()) {
            if (!pinned.containsKey(name)) {
                cache.invalidate(name);
                pinned.put(name, load(r));
            }
        } else {
            LoadedModel l = pinned.remove(name);
            if (l != null) {
                l.retire();
            }
        }
    }

    /** Another replica unloaded adapter {@code name}: drops it from this replica's memory too. */
    synchronized void unloadedElsewhere(String name) {
        refresh(name);
        String id = loraIds.get(name);
        if (id != null && !anyPinned(id, name)) {
            multi.cache().invalidate(id);
        }
        cache.invalidate(name);
    }

    /**
     * Makes a recorded adapter servable: a LoRA adapter is put in the store (unless there already) and its name mapped
     * to its store id; a full fine-tune is noted for the merged path. Returns whether it is LoRA.
     */
    private boolean index(AdapterRecord r) {
        String id = r.getAdapterId();
        if (id != null && multi.store().contains(id)) {
            loraIds.put(r.getName(), id);
            return true;
        }
        Adapter a = AdapterFiles.read(directory(r), base.contentHash());
        return index(r, a);
    }

    private boolean index(AdapterRecord r, Adapter a) {
        try {
            String id = multi.register(a);
            if (!id.equals(r.getAdapterId())) {
                LOG.warn("adapter {} is recorded as {} but stored as {}", r.getName(), r.getAdapterId(), id);
            }
            loraIds.put(r.getName(), id);
            return true;
        } catch (AdapterMismatchException e) {
            if (e.reason() == AdapterMismatchException.Reason.OTHER_BASE) {
                throw e;
            }
            if (e.reason() != AdapterMismatchException.Reason.NOT_LORA) {
                LOG.info(
                        "adapter {} cannot be served by the multi-LoRA model ({}); serving it merged",
                        r.getName(),
                        e.getMessage());
            }
            fullNames.add(r.getName());
            return false;
        }
    }

    /** Deletes stored adapters no record names (left by an interrupted registration or deletion). */
    private void prune(List<AdapterRecord> records) {
        Set<String> used = new HashSet<>(loraIds.values());
        for (AdapterRecord r : records) {
            if (r.getAdapterId() != null) {
                used.add(r.getAdapterId());
            }
        }
        Instant recent = Instant.now().minus(Duration.ofHours(1));
        for (var info : multi.store().list()) {
            if (!used.contains(info.id())
                    && info.created() != null
                    && info.created().isBefore(recent)) {
                try {
                    multi.unpin(info.id());
                    multi.delete(info.id());
                    LOG.info("deleted stored adapter {}: no model names it", info.id());
                } catch (RuntimeException e) {
                    LOG.warn("cannot delete unused stored adapter {}: {}", info.id(), e.getMessage());
                }
            }
        }
    }

    /** Whether a record other than {@code except} with store id {@code id} is pinned. */
    private boolean anyPinned(String id, String except) {
        return repo.listOrderBySeq().stream()
                .anyMatch(x -> x.isPinned() && !x.getName().equals(except) && id.equals(loraIds.get(x.getName())));
    }

    /** Whether a record other than {@code except} is served from store id {@code id}. */
    private boolean anyUses(String id, String except) {
        return loraIds.entrySet().stream()
                        .anyMatch(
                                e -> !e.getKey().equals(except) && e.getValue().equals(id))
                || repo.listOrderBySeq().stream()
                        .anyMatch(x -> !x.getName().equals(except) && id.equals(x.getAdapterId()));
    }

    public String baseName() {
        return baseName;
    }

    public BaseModel base() {
        return base;
    }

    /** The model serving the base and every LoRA adapter. */
    public MultiLoraModel multiLora() {
        return multi;
    }

    /** A model for one request; close it when done. 404 for an unknown model, 400 for a malformed name. */
    public ModelLease acquire(String model) {
        Ids.checkModel(model, "model");
        if (model.equals(baseName)) {
            return new ModelLease(
                    this,
                    model,
                    null,
                    (p, s, l) -> base.generate(List.of(p), s, l).get(0),
                    () -> {});
        }
        String id = loraIds.get(model);
        AdapterRecord rec = null;
        if (id == null && !fullNames.contains(model)) {
            rec = repo.findById(model).orElseThrow(() -> unknown(model));
            synchronized (this) {
                if (!loraIds.containsKey(model) && !fullNames.contains(model)) {
                    index(rec);
                }
            }
            id = loraIds.get(model);
        }
        if (id != null) {
            if (!served.tryAcquire()) {
                throw new IllegalStateException("the server is shutting down");
            }
            String storeId = id;
            AdapterRecord record = rec;
            return new ModelLease(
                    this, model, record, (p, s, l) -> generateLora(model, storeId, p, s, l), served::release);
        }
        for (int attempt = 0; attempt < 5; attempt++) {
            LoadedModel l = pinned.get(model);
            if (l == null) {
                l = cache.getIfPresent(model);
                if (l != null) {
                    mergedHits.incrementAndGet();
                } else {
                    AdapterRecord r = rec != null ? rec : repo.findById(model).orElseThrow(() -> unknown(model));
                    mergedMisses.incrementAndGet();
                    l = cache.get(model, k -> load(r));
                }
            } else {
                mergedHits.incrementAndGet();
            }
            if (l.tryAcquire()) {
                LoadedModel held = l;
                AdaptedModel m = (AdaptedModel) held.model;
                return new ModelLease(
                        this,
                        model,
                        l.record,
                        (p, s, li) -> m.generate(List.of(p), s, li).get(0),
                        held::release);
            }
        }
        throw new IllegalStateException("adapter " + model + " was evicted repeatedly while being acquired");
    }

    /** One generation with a LoRA adapter on the shared session; a store entry gone missing is stored again once. */
    private Generation generateLora(String model, String id, String prompt, Sampling sampling, TokenListener listener) {
        List<long[]> ids = new ArrayList<>(1);
        ids.add(base.encodePrompt(prompt));
        try {
            return multi.generate(id, ids, sampling, listener).get(0);
        } catch (AdapterNotFoundException e) {
            AdapterRecord r = repo.findById(model).orElseThrow(() -> unknown(model));
            LOG.warn("adapter {} ({}) is missing from the store; storing it again", model, id);
            multi.register(AdapterFiles.read(directory(r), base.contentHash()));
            return multi.generate(id, ids, sampling, listener).get(0);
        }
    }

    ApiException unknown(String model) {
        return ApiException.notFound(
                "model",
                "model_not_found",
                "the model '" + model + "' does not exist; GET /v1/models lists " + "the base model (" + baseName
                        + ") and the adapters");
    }

    /** Merges a full fine-tune into its own copy of the base. */
    private LoadedModel load(AdapterRecord r) {
        Path dir = settings.adaptersDir().resolve(r.getStorageName());
        Adapter a = AdapterFiles.read(dir, base.contentHash());
        LOG.info("loading adapter {} ({}) merged", r.getName(), a);
        return new LoadedModel(r, AdaptedModel.of(base, a));
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
        String id = loraIds.get(name);
        if (id != null) {
            return multi.cache().isLoaded(id);
        }
        return pinned.containsKey(name) || cache.getIfPresent(name) != null;
    }

    /** Records a new adapter (its files already in the adapters folder) and makes it servable at once. */
    public synchronized AdapterRecord register(AdapterRecord r) {
        if (r.getName().equals(baseName) || repo.existsById(r.getName())) {
            throw ApiException.conflict("model_exists", "a model named '" + r.getName() + "' already exists");
        }
        boolean lora = index(r, AdapterFiles.read(directory(r), base.contentHash()));
        try {
            repo.save(r);
        } catch (RuntimeException e) {
            forget(r.getName());
            throw e;
        }
        if (r.isPinned()) {
            if (lora) {
                multi.pin(loraIds.get(r.getName()));
            } else {
                pinned.put(r.getName(), load(r));
            }
        }
        return r;
    }

    /** Drops a name's mapping, and its stored adapter when no other name uses it. */
    private void forget(String name) {
        fullNames.remove(name);
        String id = loraIds.remove(name);
        if (id != null && !anyUses(id, name)) {
            try {
                multi.unpin(id);
                multi.delete(id);
            } catch (RuntimeException e) {
                LOG.warn("cannot delete stored adapter {}: {}", id, e.getMessage());
            }
        }
    }

    /** Drops the adapter from memory on every replica (it loads again on the next request); also unpins it. */
    public AdapterRecord unload(String name) {
        AdapterRecord r = unloadHere(name);
        signals.publish("adapter-unload", name);
        return r;
    }

    private synchronized AdapterRecord unloadHere(String name) {
        AdapterRecord r = repo.findById(name).orElseThrow(() -> unknown(name));
        if (r.isPinned()) {
            r.setPinned(false);
            repo.update(r);
        }
        String id = loraIds.get(name);
        if (id != null && !anyPinned(id, name)) {
            multi.unpin(id);
            multi.cache().invalidate(id);
        }
        LoadedModel p = pinned.remove(name);
        if (p != null) {
            p.retire();
        }
        cache.invalidate(name);
        return r;
    }

    /** Pins (keeps loaded) or unpins the adapter on every replica. */
    public AdapterRecord pin(String name, boolean pin) {
        AdapterRecord r = pinHere(name, pin);
        signals.publish("adapter", name);
        return r;
    }

    private synchronized AdapterRecord pinHere(String name, boolean pin) {
        AdapterRecord r = repo.findById(name).orElseThrow(() -> unknown(name));
        r.setPinned(pin);
        repo.update(r);
        if (!loraIds.containsKey(name) && !fullNames.contains(name)) {
            index(r);
        }
        String id = loraIds.get(name);
        if (id != null) {
            if (pin) {
                multi.pin(id);
            } else if (!anyPinned(id, name)) {
                multi.unpin(id);
            }
            return r;
        }
        if (pin) {
            if (!pinned.containsKey(name)) {
                cache.invalidate(name);
                pinned.put(name, load(r));
            }
        } else {
            LoadedModel l = pinned.remove(name);
            if (l != null) {
                l.retire();
            }
        }
        return r;
    }

    /**
     * Unregisters the adapter and deletes its files (and its stored copy, unless another name serves it); every
     * replica stops serving it.
     */
    public AdapterRecord delete(String name) {
        AdapterRecord r = deleteHere(name);
        signals.publish("adapter", name);
        return r;
    }

    private synchronized AdapterRecord deleteHere(String name) {
        AdapterRecord r = unloadHere(name);
        repo.deleteById(name);
        forget(name);
        Path dir = directory(r);
        if (dir.normalize().startsWith(settings.adaptersDir()) && Files.isDirectory(dir)) {
            try {
                FileTrees.delete(dir);
            } catch (IOException e) {
                LOG.warn("cannot delete {}: {}", dir, e.getMessage());
            }
        }
        return r;
    }

    @PreDestroy
    void close() {
        pinned.values().forEach(LoadedModel::retire);
        pinned.clear();
        cache.invalidateAll();
        cache.cleanUp();
        served.retire(); // the multi-LoRA model closes once the requests using it finish
    }
}
