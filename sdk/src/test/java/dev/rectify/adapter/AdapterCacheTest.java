package dev.rectify.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.lora.AdapterMismatchException;
import dev.rectify.lora.CorruptAdapterException;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraFixtures;
import dev.rectify.lora.ServingGraphCache;
import dev.rectify.lora.ServingLayout;
import dev.rectify.model.BaseModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-memory cache of loaded adapters: byte bound, pinning, statistics, freeing native memory safely. */
class AdapterCacheTest {
    @TempDir
    static Path graphs;

    static ServingLayout layout;

    @BeforeAll
    static void layout() {
        BaseModel base = TestModels.tiny();
        layout = ServingGraphCache.at(graphs)
                .getOrBuild(Path.of(base.decodeSession().source()), LoraConfig.LLAMA_TARGETS)
                .layout();
    }

    private static List<String> storeAdapters(AdapterStore store, int n, long seed0) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            ids.add(store.put(LoraFixtures.random(TestModels.tiny(), seed0 + i, 2, Set.of("q_proj", "v_proj"))));
        }
        return ids;
    }

    private static AdapterCache cache(AdapterStore store, long bytes) {
        return AdapterCache.builder(store)
                .layout(layout)
                .baseModelHash(TestModels.tiny().contentHash())
                .maximumBytes(bytes)
                .build();
    }

    @Test
    void boundedByBytesEvictionFreesNativeAdaptersAndPinnedOnesStay(@TempDir Path dir) {
        AdapterStore store = AdapterStore.open(dir);
        List<String> ids = storeAdapters(store, 10, 100);
        long one;
        try (AdapterCache probe = cache(store, 1L << 30);
                var l = probe.acquire(ids.get(0))) {
            one = l.adapter().byteSize();
        }
        try (AdapterCache cache = cache(store, 3 * one + one / 2)) { // room for 3 unpinned adapters
            cache.pin(ids.get(0));
            for (String id : ids) {
                cache.acquire(id).close();
            }
            AdapterCache.Stats s = cache.stats();
            assertTrue(s.entries() <= 4, s.toString());
            assertTrue(s.evictions() >= 6, s.toString());
            assertEquals(s.entries(), s.openNativeAdapters(), "evicted adapters are freed: " + s);
            assertTrue(cache.isLoaded(ids.get(0)), "the pinned adapter stays");
            assertEquals(1, s.pinnedEntries());
            assertTrue(s.bytes() - s.pinnedBytes() <= 3 * one + one / 2, s.toString());
            assertEquals(10, s.misses(), s.toString());
            assertEquals(1, s.hits(), s.toString());
            cache.acquire(ids.get(0)).close();
            assertEquals(2, cache.stats().hits());
            cache.unpin(ids.get(0));
            for (String id : ids.subList(1, 10)) {
                cache.acquire(id).close();
            }
            assertTrue(cache.stats().entries() <= 3, cache.stats().toString());
        }
    }

    @Test
    void anAdapterInUseIsFreedOnlyWhenItsRequestEnds(@TempDir Path dir) {
        AdapterStore store = AdapterStore.open(dir);
        List<String> ids = storeAdapters(store, 3, 200);
        try (AdapterCache cache = cache(store, 1)) { // room for nothing: every load is evicted at once
            AdapterCache.Lease lease = cache.acquire(ids.get(0));
            cache.acquire(ids.get(1)).close();
            cache.invalidate(ids.get(0));
            assertFalse(cache.isLoaded(ids.get(0)));
            assertFalse(lease.adapter().isClosed(), "still leased");
            assertTrue(lease.nativeAdapter() != null);
            assertEquals(1, cache.stats().openNativeAdapters());
            lease.close();
            assertTrue(lease.adapter().isClosed());
            assertEquals(0, cache.stats().openNativeAdapters());
        }
    }

    @Test
    void failedLoadsAreTypedAndCacheNothing(@TempDir Path dir) throws Exception {
        AdapterStore store = AdapterStore.open(dir);
        List<String> ids = storeAdapters(store, 2, 300);
        Path w = store.folder(ids.get(1)).resolve(AdapterFiles.WEIGHTS);
        byte[] b = Files.readAllBytes(w);
        b[b.length - 1] ^= 1;
        Files.write(w, b);
        Adapter otherBase = Adapter.builder()
                .id("ef".repeat(32))
                .baseModelHash("00".repeat(32))
                .lora(2, 4, Set.of("q_proj"))
                .weights(LoraFixtures.random(TestModels.tiny(), 9, 2, Set.of("q_proj"))
                        .weights())
                .build();
        store.put(otherBase);
        try (AdapterCache cache = cache(store, 1L << 30)) {
            cache.acquire(ids.get(0)).close();
            assertThrows(CorruptAdapterException.class, () -> cache.acquire(ids.get(1)));
            assertThrows(AdapterNotFoundException.class, () -> cache.acquire("1234567890abcdef"));
            assertThrows(InvalidAdapterIdException.class, () -> cache.acquire("../x"));
            var e = assertThrows(AdapterMismatchException.class, () -> cache.acquire(otherBase.id()));
            assertEquals(AdapterMismatchException.Reason.OTHER_BASE, e.reason());
            AdapterCache.Stats s = cache.stats();
            assertEquals(1, s.entries(), s.toString());
            assertEquals(1, s.openNativeAdapters());
            assertEquals(3, s.loadFailures(), s.toString());
            // the store deletes an adapter: the cache drops it
            store.delete(ids.get(0));
            assertFalse(cache.isLoaded(ids.get(0)));
            assertEquals(0, cache.stats().openNativeAdapters());
            assertThrows(AdapterNotFoundException.class, () -> cache.acquire(ids.get(0)));
        }
    }
}
