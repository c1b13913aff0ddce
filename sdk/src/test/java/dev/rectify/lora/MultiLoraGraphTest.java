package dev.rectify.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.LoraAdapter;
import dev.rectify.ort.RunOptions;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The multi-adapter serving graph against the plain base, the training-time graph and the merged model. */
class MultiLoraGraphTest {
    static final long[] IDS = {1, 17, 42, 99, 100, 7, 250, 3, 64, 12};

    @TempDir
    static Path cacheDir;

    static InferenceSession serving;
    static ServingLayout layout;

    @BeforeAll
    static void open() {
        BaseModel base = TestModels.tiny();
        ServingGraphCache.Entry e = ServingGraphCache.at(cacheDir)
                .getOrBuild(Path.of(base.decodeSession().source()), LoraConfig.LLAMA_TARGETS);
        serving = InferenceSession.open(e.model(), base.device().sessionConfig());
        layout = e.layout();
    }

    @AfterAll
    static void close() {
        serving.close();
    }

    @Test
    void layoutHasEveryProjectionAndTheCacheIsHitTheSecondTime() {
        assertEquals(6 * 7, layout.slots().size());
        BaseModel base = TestModels.tiny();
        var again = ServingGraphCache.at(cacheDir)
                .getOrBuild(Path.of(base.decodeSession().source()), LoraConfig.LLAMA_TARGETS);
        assertTrue(!again.built());
        assertEquals(layout.slots(), again.layout().slots());
    }

    @Test
    void aBaseRequestEqualsThePlainBaseExactly() {
        BaseModel base = TestModels.tiny();
        float[] plain = LoraFixtures.logits(base.decodeSession(), base, IDS, null);
        float[] viaServing = LoraFixtures.logits(serving, base, IDS, null);
        assertArrayEquals(plain, viaServing, 0f);
    }

    @Test
    void anAdapterGivesTheTrainingGraphsAndTheMergedModelsLogits() {
        BaseModel base = TestModels.tiny();
        for (Adapter a : new Adapter[] {
            LoraFixtures.random(base, 1, 4, LoraConfig.LLAMA_TARGETS),
            LoraFixtures.random(base, 2, 8, Set.of("q_proj", "v_proj")),
            LoraFixtures.random(base, 3, 1, Set.of("down_proj"))
        }) {
            float[] training;
            try (InferenceSession t = LoraFixtures.trainingGraph(base, a)) {
                training = LoraFixtures.logits(t, base, IDS, null);
            }
            float[] merged;
            OnnxModel m = AdaptedModel.merge(
                    OnnxModel.read(Path.of(base.decodeSession().source())), a);
            try (InferenceSession s = InferenceSession.fromBytes(
                    m.toBytes(), "merged", base.device().sessionConfig())) {
                merged = LoraFixtures.logits(s, base, IDS, null);
            }
            float[] served;
            try (LoraAdapter la = LoraAdapter.fromBytes(
                            layout.toOnnxAdapter(
                                    a.id(),
                                    a.rank(),
                                    a.alpha(),
                                    a.weights().values(),
                                    a.weights().shapes()),
                            a.id());
                    RunOptions ro = new RunOptions().activate(la)) {
                served = LoraFixtures.logits(serving, base, IDS, ro);
            }
            float[] plain = LoraFixtures.logits(base.decodeSession(), base, IDS, null);
            assertTrue(LoraFixtures.maxAbsDiff(plain, training) > 1e-2, "the adapter changes the logits");
            assertArrayEquals(training, served, 1e-4f, "served vs training graph, " + a);
            assertArrayEquals(training, merged, 1e-4f, "merged vs training graph, " + a);
        }
    }
}
