package dev.rectify.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.generate.Sampling;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraFixtures;
import dev.rectify.lora.MergedWeightsGraph;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.RunOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The merged-weights fast path of {@link MultiLoraModel}: a hot adapter runs the base's kernels with its merged
 * weights and gives the merged model's logits; switching, eviction and deletion never leave stale weights.
 */
class MergedWeightsFastPathTest {
    private static final long[] IDS = MultiLoraModelTest.IDS;

    private static float[] mergedLogits(BaseModel base, Adapter a) {
        OnnxModel merged =
                AdaptedModel.merge(OnnxModel.read(Path.of(base.decodeSession().source())), a);
        try (InferenceSession s = InferenceSession.fromBytes(
                merged.toBytes(), "merged", base.device().sessionConfig())) {
            return LoraFixtures.logits(s, base, IDS, null);
        }
    }

    /** Logits of {@code id} on the fast path's session, through a lease of its merged weights. */
    private static float[] hotLogits(MultiLoraModel m, String id) {
        try (AdapterCache.Lease lease = m.mergedCache().acquire(id);
                RunOptions ro = new RunOptions().activate(lease.nativeAdapter())) {
            return LoraFixtures.logits(m.mergedSession(), m.base(), IDS, ro);
        }
    }

    @Test
    void hotAdapterGivesTheMergedModelsLogitsAndEvictionLeavesNoStaleWeights(@TempDir Path dir) throws Exception {
        BaseModel base = TestModels.tiny();
        Adapter a = LoraFixtures.random(base, 71, 4, LoraConfig.LLAMA_TARGETS);
        Adapter b = LoraFixtures.random(base, 72, 2, LoraConfig.LLAMA_TARGETS);
        Adapter c = LoraFixtures.random(base, 74, 3, Set.of("q_proj", "v_proj", "down_proj"));
        long oneAdapter = MergedWeightsGraph.build(
                        OnnxModel.read(Path.of(base.decodeSession().source())), LoraConfig.LLAMA_TARGETS)
                .orElseThrow()
                .adapterBytes();
        // room for the merged weights of one full adapter only: a second full one evicts the first
        try (MultiLoraModel m = MultiLoraModel.builder(base)
                .store(AdapterStore.open(dir.resolve("store")))
                .graphCache(dir.resolve("graphs"))
                .mergedBytes(oneAdapter + oneAdapter / 2)
                .build()) {
            assertTrue(m.hasFastPath());
            // without an adapter the fast path's session computes the base
            assertArrayEquals(
                    LoraFixtures.logits(base.decodeSession(), base, IDS, null),
                    LoraFixtures.logits(m.mergedSession(), base, IDS, null),
                    1e-5f);
            String ia = m.register(a);
            String ib = m.register(b);
            String ic = m.register(c);
            Map<String, float[]> want =
                    Map.of(ia, mergedLogits(base, a), ib, mergedLogits(base, b), ic, mergedLogits(base, c));
            assertTrue(LoraFixtures.maxAbsDiff(want.get(ia), want.get(ib)) > 1e-3);
            assertTrue(LoraFixtures.maxAbsDiff(want.get(ia), want.get(ic)) > 1e-3);

            // the first request runs on the branches, the second makes the adapter hot; both give the merged text
            Sampling greedy = Sampling.greedy().maxNewTokens(12).stopAtEos(false);
            String prompt = "What is 7 + 8?";
            String mergedText;
            try (AdaptedModel am = AdaptedModel.of(base, a)) {
                mergedText = am.generate(prompt, greedy).text();
            }
            assertEquals(mergedText, m.generate(ia, prompt, greedy).text());
            assertFalse(m.isHot(ia));
            assertEquals(mergedText, m.generate(ia, prompt, greedy).text());
            assertTrue(m.isHot(ia));
            assertArrayEquals(want.get(ia), hotLogits(m, ia), 1e-4f);

            // switching: each adapter gets its own weights, whichever was loaded last, again and again
            for (int round = 0; round < 3; round++) {
                for (String id : List.of(ib, ic, ia)) {
                    float[] got = hotLogits(m, id);
                    assertArrayEquals(want.get(id), got, 1e-4f, id);
                    for (String other : want.keySet()) {
                        if (!other.equals(id)) {
                            assertTrue(LoraFixtures.maxAbsDiff(want.get(other), got) > 1e-3, other + " in " + id);
                        }
                    }
                }
            }
            AdapterCache.Stats s = m.mergedCacheStats();
            assertTrue(s.bytes() <= s.maximumBytes(), "the bound holds: " + s);
            assertTrue(s.evictions() >= 1, s.toString());

            // concurrent requests on both adapters, each evicting the other's weights while that one is leased
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Integer>> fs = new ArrayList<>();
                for (String id : List.of(ia, ib)) {
                    fs.add(pool.submit(() -> {
                        for (int k = 0; k < 8; k++) {
                            assertArrayEquals(want.get(id), hotLogits(m, id), 1e-4f, id);
                        }
                        return 8;
                    }));
                }
                for (Future<Integer> f : fs) {
                    assertEquals(8, f.get());
                }
            } finally {
                pool.shutdownNow();
            }
            AdapterCache.Stats after = m.mergedCacheStats();
            assertEquals(after.entries(), after.openNativeAdapters(), "evicted merged weights are freed: " + after);

            // deleting an adapter drops its merged weights too
            m.generate(ia, prompt, greedy);
            assertTrue(m.isHot(ia));
            assertTrue(m.delete(ia));
            assertFalse(m.isHot(ia));
            assertNotEquals(0, m.mergedCacheStats().loads());
        }
    }

    @Test
    void mergedBytesZeroTurnsTheFastPathOff(@TempDir Path dir) {
        BaseModel base = TestModels.tiny();
        Adapter a = LoraFixtures.random(base, 73, 2, Set.of("o_proj"));
        try (MultiLoraModel m = MultiLoraModel.builder(base)
                .store(AdapterStore.open(dir.resolve("store")))
                .graphCache(dir.resolve("graphs"))
                .mergedBytes(0)
                .build()) {
            assertFalse(m.hasFastPath());
            String id = m.register(a);
            Sampling greedy = Sampling.greedy().maxNewTokens(6);
            String first = m.generate(id, "Hi", greedy).text();
            assertEquals(first, m.generate(id, "Hi", greedy).text());
            assertFalse(m.isHot(id));
        }
    }
}
