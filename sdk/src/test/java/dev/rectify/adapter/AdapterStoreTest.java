package dev.rectify.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.lora.CorruptAdapterException;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraFixtures;
import dev.rectify.model.BaseModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-disk adapter store: content-addressed entries, atomic writes, checksums, ids, pins, single flight. */
class AdapterStoreTest {
    private static Adapter adapter(long seed) {
        return LoraFixtures.random(TestModels.tiny(), seed, 2, Set.of("q_proj", "v_proj"));
    }

    @Test
    void putGetListInfoDelete(@TempDir Path dir) {
        AdapterStore store = AdapterStore.open(dir);
        Adapter a = adapter(1);
        Adapter b = adapter(2);
        assertEquals(a.id(), store.put(a));
        store.put(b);
        store.put(a); // idempotent
        Adapter back = store.get(a.id());
        for (var e : a.weights().values().entrySet()) {
            assertArrayEquals(e.getValue(), back.weights().values().get(e.getKey()), 0f);
        }
        assertEquals(
                Set.of(a.id(), b.id()),
                Set.copyOf(store.list().stream().map(AdapterInfo::id).toList()));
        AdapterInfo info = store.info(a.id());
        assertEquals(TestModels.tiny().contentHash(), info.baseModelHash());
        assertEquals(Adapter.Kind.LORA, info.kind());
        assertEquals(a.weights().parameterCount(), info.parameters());
        assertTrue(info.bytes() > 4 * info.parameters());
        assertTrue(info.created().isAfter(Instant.now().minusSeconds(600)));
        assertTrue(store.delete(a.id()));
        assertFalse(store.delete(a.id()));
        assertThrows(AdapterNotFoundException.class, () -> store.get(a.id()));
        assertEquals(List.of(b.id()), store.list().stream().map(AdapterInfo::id).toList());
        try (var names = Stream.of(dir.toFile().list())) {
            assertEquals(List.of(b.id()), names.filter(n -> !n.equals(".pins")).toList(), "no temporary folders left");
        }
    }

    @Test
    void idsThatCouldNameAPathOutsideTheStoreAreRefused(@TempDir Path dir) {
        AdapterStore store = AdapterStore.open(dir.resolve("store"));
        for (String bad : new String[] {
            "../../etc/passwd",
            "..",
            "",
            "ABCDEF0123456789",
            "0123456789abcdef/..",
            "abc",
            "0123456789abcdeg",
            "0123456789abcdef\0"
        }) {
            assertThrows(InvalidAdapterIdException.class, () -> store.get(bad), bad);
            assertThrows(InvalidAdapterIdException.class, () -> store.delete(bad), bad);
        }
        assertThrows(InvalidAdapterIdException.class, () -> store.get(null));
        assertThrows(AdapterNotFoundException.class, () -> store.get("0123456789abcdef"));
    }

    @Test
    void corruptOrTruncatedEntriesAreReportedNeverReturned(@TempDir Path dir) throws Exception {
        AdapterStore store = AdapterStore.open(dir);
        Adapter a = adapter(3);
        Adapter b = adapter(4);
        Adapter c = adapter(5);
        store.put(a);
        store.put(b);
        store.put(c);
        Path wa = store.folder(a.id()).resolve(AdapterFiles.WEIGHTS);
        byte[] bytes = Files.readAllBytes(wa);
        bytes[bytes.length - 5] ^= 0x40; // one flipped bit in the data
        Files.write(wa, bytes);
        Path wb = store.folder(b.id()).resolve(AdapterFiles.WEIGHTS);
        Files.write(wb, Arrays.copyOf(Files.readAllBytes(wb), 100)); // truncated
        Files.writeString(
                store.folder(c.id()).resolve(AdapterFiles.CONFIG), "{\"peft_type\": \"LORA\", \"r\": 2"); // torn
        assertThrows(CorruptAdapterException.class, () -> store.get(a.id()));
        assertThrows(CorruptAdapterException.class, () -> store.get(b.id()));
        assertThrows(CorruptAdapterException.class, () -> store.get(c.id()));
        Files.delete(store.folder(c.id()).resolve(AdapterFiles.MANIFEST));
        assertThrows(CorruptAdapterException.class, () -> store.get(c.id()));
        // putting the adapter again repairs the entry
        store.put(a);
        assertArrayEquals(
                a.weights().values().values().iterator().next(),
                store.get(a.id()).weights().values().values().iterator().next(),
                0f);
    }

    @Test
    void pinnedAdaptersCannotBeDeleted(@TempDir Path dir) {
        AdapterStore store = AdapterStore.open(dir);
        Adapter a = adapter(6);
        store.put(a);
        store.pin(a.id());
        assertTrue(store.isPinned(a.id()));
        assertTrue(store.info(a.id()).pinned());
        assertThrows(AdapterPinnedException.class, () -> store.delete(a.id()));
        assertTrue(store.contains(a.id()));
        store.unpin(a.id());
        assertTrue(store.delete(a.id()));
        assertThrows(AdapterNotFoundException.class, () -> store.pin(a.id()));
    }

    @Test
    void concurrentIdenticalRequestsMakeTheAdapterOnce(@TempDir Path dir) throws Exception {
        AdapterStore store = AdapterStore.open(dir);
        Adapter a = adapter(7);
        AtomicInteger made = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<Adapter>> fs = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                AdapterStore s = AdapterStore.open(dir); // distinct store objects on one root share the flight
                fs.add(pool.submit(() -> {
                    start.await();
                    return s.getOrCreate(a.id(), () -> {
                        made.incrementAndGet();
                        sleep(300);
                        return a;
                    });
                }));
            }
            start.countDown();
            for (Future<Adapter> f : fs) {
                assertSame(a, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, made.get());
        assertTrue(store.contains(a.id()));
        assertEquals(
                a.id(),
                store.getOrCreate(a.id(), () -> {
                            throw new AssertionError("must not be made again");
                        })
                        .id());
        // a failure reaches every waiter and stores nothing
        Adapter b = adapter(8);
        var e = assertThrows(
                IllegalStateException.class,
                () -> store.getOrCreate(b.id(), () -> {
                    throw new IllegalStateException("training failed");
                }));
        assertEquals("training failed", e.getMessage());
        assertFalse(store.contains(b.id()));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static BaseModel base() {
        return TestModels.tiny();
    }

    static Set<String> all() {
        return LoraConfig.LLAMA_TARGETS;
    }
}
