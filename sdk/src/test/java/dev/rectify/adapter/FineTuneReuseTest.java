package dev.rectify.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.Rectify;
import dev.rectify.TestModels;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.train.FineTuneOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Adapter.fineTune reuses the store: an identical request does not train, concurrent identical ones train once. */
class FineTuneReuseTest {
    static List<Example> data(int n) {
        return JsonlDataset.read(TestModels.tinyDir()
                        .resolve("../../data/math/train.jsonl")
                        .normalize())
                .subList(0, n);
    }

    static FineTuneOptions.Builder small(AtomicInteger steps) {
        return FineTuneOptions.builder()
                .objective(Objective.DFT)
                .lora(4, 8)
                .batchSize(4)
                .microBatchSize(2)
                .maxSeqLength(96)
                .learningRate(1e-3)
                .evalFraction(0)
                .seed(3)
                .maxSteps(2)
                .onProgress(p -> steps.incrementAndGet());
    }

    @Test
    void anIdenticalRequestReturnsTheStoredAdapterWithoutTraining(@TempDir Path dir) {
        AdapterStore store = AdapterStore.open(dir);
        AtomicInteger first = new AtomicInteger();
        Adapter a = Rectify.fineTune(TestModels.tiny(), data(8), small(first).build(), store);
        assertTrue(first.get() > 0);
        assertTrue(store.contains(a.id()));
        assertEquals(a.recipe(), store.info(a.id()).recipe());

        AtomicInteger second = new AtomicInteger();
        long t0 = System.nanoTime();
        Adapter b = Rectify.fineTune(TestModels.tiny(), data(8), small(second).build(), store);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(0, second.get(), "no training progress: it was not trained again");
        assertEquals(a.id(), b.id());
        for (var e : a.weights().values().entrySet()) {
            assertArrayEquals(e.getValue(), b.weights().values().get(e.getKey()), 0f);
        }
        assertEquals(a.result().orElseThrow().steps(), b.result().orElseThrow().steps());
        assertTrue(b.options().isPresent());
        System.out.println("identical fine-tune request served from the store in " + ms + " ms");

        // another objective is another adapter
        AtomicInteger third = new AtomicInteger();
        Adapter c = Rectify.fineTune(
                TestModels.tiny(),
                data(8),
                small(third).objective(Objective.SFT).build(),
                store);
        assertNotEquals(a.id(), c.id());
        assertTrue(third.get() > 0);
    }

    @Test
    void concurrentIdenticalRequestsTrainOnce(@TempDir Path dir) throws Exception {
        AdapterStore store = AdapterStore.open(dir);
        int n = 3;
        List<AtomicInteger> progress = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Adapter>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                AtomicInteger p = new AtomicInteger();
                progress.add(p);
                fs.add(pool.submit(() -> {
                    go.await();
                    return Rectify.fineTune(TestModels.tiny(), data(6), small(p).build(), AdapterStore.open(dir));
                }));
            }
            go.countDown();
            String id = null;
            for (Future<Adapter> f : fs) {
                Adapter a = f.get();
                id = id == null ? a.id() : id;
                assertEquals(id, a.id());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, progress.stream().filter(p -> p.get() > 0).count(), "exactly one request trained");
        assertEquals(1, store.list().size());
    }
}
