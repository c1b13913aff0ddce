package dev.rectify.adapter;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.lora.AdapterMismatchException;
import dev.rectify.lora.ServingLayout;
import dev.rectify.ort.LoraAdapter;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Loaded adapters in memory: a Caffeine cache of {@link LoadedAdapter}s over an {@link AdapterStore}, bounded by
 * the bytes of native memory they hold (weigher), with pinning (a pinned entry weighs 0 and is never evicted),
 * statistics, and eviction that frees the native adapter once no request uses it. An adapter is loaded on first
 * {@link #acquire}: read from the store (checksums verified), checked against the base ({@link ServingLayout}) and
 * handed to ONNX Runtime. A load that fails caches nothing. Deleting an adapter from the store evicts it here.
 */
public final class AdapterCache implements AutoCloseable {
    /** The value held per id: the loaded adapter and whether it is pinned (which sets its weight). */
    private record Entry(LoadedAdapter loaded, boolean pinned) {}

    private final AdapterStore store;
    private final ServingLayout layout;
    private final String baseModelHash;
    private final long maximumBytes;
    private final Function<Adapter, byte[]> converter;
    private final boolean pinnable;
    private final Cache<String, Entry> cache;
    private final Set<String> pinned = ConcurrentHashMap.newKeySet();
    private final AtomicLong open = new AtomicLong();
    private final AtomicLong loadNanos = new AtomicLong();
    private final AutoCloseable removalRegistration;

    private AdapterCache(Builder b) {
        this.store = Objects.requireNonNull(b.store, "store");
        this.layout = b.converter != null ? b.layout : Objects.requireNonNull(b.layout, "layout");
        this.converter = b.converter != null ? b.converter : a -> AdapterLayouts.toOnnxAdapter(layout, a);
        this.pinnable = b.pinnable;
        this.baseModelHash = Objects.requireNonNull(b.baseModelHash, "baseModelHash");
        this.maximumBytes = b.maximumBytes;
        this.cache = Caffeine.newBuilder()
                .maximumWeight(maximumBytes)
                .weigher((String id, Entry e) -> e.pinned()
                        ? 0
                        : (int) Math.min(Integer.MAX_VALUE, e.loaded().byteSize()))
                .executor(Runnable::run)
                .removalListener((String id, Entry e, RemovalCause cause) -> {
                    if (e != null && cause != RemovalCause.REPLACED) {
                        e.loaded().release();
                    }
                })
                .recordStats()
                .build();
        this.removalRegistration = store.onRemoval(this::invalidate);
    }

    /** A builder over {@code store}. */
    public static Builder builder(AdapterStore store) {
        return new Builder(store);
    }

    /**
     * A reference to a loaded adapter for one request; close it when the request ends. While open, the native
     * adapter stays valid even if the cache evicts it.
     */
    public static final class Lease implements AutoCloseable {
        private final LoadedAdapter adapter;
        private boolean closed;

        Lease(LoadedAdapter adapter) {
            this.adapter = adapter;
        }

        public LoadedAdapter adapter() {
            return adapter;
        }

        /** The native adapter to activate in {@link dev.rectify.ort.RunOptions#activate}. */
        public LoraAdapter nativeAdapter() {
            if (closed) {
                throw new IllegalStateException("lease on " + adapter + " is closed");
            }
            return adapter.nativeAdapter();
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                adapter.release();
            }
        }
    }

    /**
     * The adapter {@code id}, loading it on a miss. Throws {@link InvalidAdapterIdException},
     * {@link AdapterNotFoundException}, {@link dev.rectify.lora.CorruptAdapterException} or
     * {@link AdapterMismatchException}; none of them leaves anything cached.
     */
    public Lease acquire(String id) {
        AdapterStore.checkId(id);
        for (int attempt = 0; attempt < 16; attempt++) {
            LoadedAdapter[] fresh = new LoadedAdapter[1];
            Entry e = cache.get(id, k -> {
                Entry loaded = load(k);
                loaded.loaded().tryRetain(); // the caller's reference, taken before the cache can evict it
                fresh[0] = loaded.loaded();
                return loaded;
            });
            if (fresh[0] != null) {
                return new Lease(fresh[0]);
            }
            if (e.loaded().tryRetain()) {
                return new Lease(e.loaded());
            }
            cache.asMap().remove(id, e); // freed between lookup and retain: load again
        }
        throw new IllegalStateException("adapter " + id + " keeps being freed while it is looked up");
    }

    /** Loads {@code id} now (a miss otherwise paid by the first request). */
    public void preload(String id) {
        acquire(id).close();
    }

    private Entry load(String id) {
        long t0 = System.nanoTime();
        Adapter a = store.get(id);
        if (!a.baseModelHash().equals(baseModelHash)) {
            throw new AdapterMismatchException(
                    AdapterMismatchException.Reason.OTHER_BASE,
                    "adapter " + id
                            + " belongs to base model "
                            + a.baseModelHash()
                                    .substring(0, Math.min(12, a.baseModelHash().length()))
                            + ", not this one (" + baseModelHash.substring(0, 12) + ")");
        }
        byte[] bytes = converter.apply(a);
        LoraAdapter n = LoraAdapter.fromBytes(bytes, id);
        open.incrementAndGet();
        LoadedAdapter loaded = new LoadedAdapter(
                id, a.baseModelHash(), a.rank(), a.alpha(), a.targetModules(), n, open::decrementAndGet);
        loadNanos.addAndGet(System.nanoTime() - t0);
        return new Entry(loaded, pinnable && (pinned.contains(id) || store.isPinned(id)));
    }

    /** Pins {@code id} in memory: its entry weighs nothing and is never evicted (it is loaded now if absent). */
    public void pin(String id) {
        AdapterStore.checkId(id);
        pinned.add(id);
        preload(id);
        cache.asMap().computeIfPresent(id, (k, e) -> e.pinned() ? e : new Entry(e.loaded(), true));
    }

    /** Unpins {@code id}; it is weighed and may be evicted again. */
    public void unpin(String id) {
        pinned.remove(id);
        cache.asMap()
                .computeIfPresent(id, (k, e) -> e.pinned() && !store.isPinned(id) ? new Entry(e.loaded(), false) : e);
        cache.cleanUp();
    }

    /** Drops {@code id} from memory (freed once the requests using it finish). */
    public void invalidate(String id) {
        cache.invalidate(id);
        cache.cleanUp();
    }

    /** Whether {@code id} is loaded. */
    public boolean isLoaded(String id) {
        return cache.asMap().containsKey(id);
    }

    /** A snapshot of the statistics. */
    public Stats stats() {
        cache.cleanUp();
        var s = cache.stats();
        long pinnedEntries = 0;
        long pinnedBytes = 0;
        long total = 0;
        for (Entry e : cache.asMap().values()) {
            total += e.loaded().byteSize();
            if (e.pinned()) {
                pinnedEntries++;
                pinnedBytes += e.loaded().byteSize();
            }
        }
        return new Stats(
                s.hitCount(),
                s.missCount(),
                s.loadSuccessCount(),
                s.loadFailureCount(),
                s.evictionCount(),
                s.evictionWeight(),
                cache.asMap().size(),
                total,
                pinnedEntries,
                pinnedBytes,
                open.get(),
                maximumBytes,
                loadNanos.get());
    }

    /**
     * Cache statistics.
     *
     * @param hits               lookups that found the adapter loaded
     * @param misses             lookups that loaded it
     * @param loads              successful loads
     * @param loadFailures       loads that threw (not found, corrupt, mismatch)
     * @param evictions          entries evicted by size
     * @param evictedBytes       bytes evicted by size
     * @param entries            adapters loaded now
     * @param bytes              native bytes they hold (pinned included)
     * @param pinnedEntries      pinned adapters loaded now
     * @param pinnedBytes        native bytes of those
     * @param openNativeAdapters native adapters not yet freed (includes evicted ones still leased)
     * @param maximumBytes       the bound for unpinned entries
     * @param loadNanos          total time spent loading
     */
    public record Stats(
            long hits,
            long misses,
            long loads,
            long loadFailures,
            long evictions,
            long evictedBytes,
            long entries,
            long bytes,
            long pinnedEntries,
            long pinnedBytes,
            long openNativeAdapters,
            long maximumBytes,
            long loadNanos) {}

    /** Frees every loaded adapter not leased now; leased ones are freed when their leases close. */
    @Override
    public void close() {
        try {
            removalRegistration.close();
        } catch (Exception e) {
            // cannot fail
        }
        cache.invalidateAll();
        cache.cleanUp();
    }

    /** Builder for {@link AdapterCache}. */
    public static final class Builder {
        private final AdapterStore store;
        private ServingLayout layout;
        private String baseModelHash;
        private long maximumBytes = 256L << 20;
        private Function<Adapter, byte[]> converter;
        private boolean pinnable = true;

        private Builder(AdapterStore store) {
            this.store = store;
        }

        /** The serving graph's layout adapters are checked against and converted for. */
        public Builder layout(ServingLayout layout) {
            this.layout = layout;
            return this;
        }

        /** The base model adapters must belong to. */
        public Builder baseModelHash(String hash) {
            this.baseModelHash = hash;
            return this;
        }

        /** Bound on the native bytes of unpinned loaded adapters (default 256 MiB). */
        public Builder maximumBytes(long bytes) {
            if (bytes < 0) {
                throw new InvalidArgumentException("cache size must be >= 0 bytes, got " + bytes);
            }
            this.maximumBytes = bytes;
            return this;
        }

        /**
         * How an adapter becomes {@code .onnx_adapter} bytes, instead of the layout's A, B and scale (the merged
         * weights of {@link dev.rectify.lora.MergedWeightsGraph}); such a cache ignores pins, so that its bytes stay
         * bounded.
         */
        Builder converter(Function<Adapter, byte[]> converter) {
            this.converter = converter;
            this.pinnable = false;
            return this;
        }

        public AdapterCache build() {
            return new AdapterCache(this);
        }
    }
}
