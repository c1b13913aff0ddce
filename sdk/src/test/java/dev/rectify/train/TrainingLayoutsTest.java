package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.TrainingSession;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training from the layouts exporters publish (src-test/fixtures/layouts, made by make_layout_fixtures.py): a
 * with-past export, Optimum's merged decoder and a constant-folded tied embedding train exactly like the plain
 * no-past, unfolded export of the same weights.
 */
class TrainingLayoutsTest {
    static final int VOCAB = 64;
    static final Batches BATCH = new Batches(5, 2, 7, VOCAB);

    @TempDir
    Path tmp;

    static Path fixture(String name) {
        return TestModels.fixtures().resolve("layouts").resolve(name);
    }

    static TrainingPlan lora() {
        // B starts non-zero through a second step below, so A gets gradients too
        return TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(4).alpha(8).seed(3).build())
                .objective(Objective.SFT)
                .exposeGradients(true)
                .build();
    }

    static TrainingPlan full() {
        return TrainingPlan.builder()
                .fullFineTuning()
                .objective(Objective.SFT)
                .exposeGradients(true)
                .build();
    }

    /** Outputs of the second micro-batch step (after one optimizer step), by name. */
    static Map<String, float[]> secondStepGradients(TrainingArtifacts a) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 1e-2f)) {
            ArtifactBuilderOrtTest.step(s, true);
            s.lazyResetGrad();
            return ArtifactBuilderOrtTest.trainStep(s, BATCH);
        }
    }

    static float[] losses(TrainingArtifacts a, int steps, float lr) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, lr)) {
            float[] l = new float[steps];
            for (int i = 0; i < steps; i++) {
                s.lazyResetGrad();
                l[i] = ArtifactBuilderOrtTest.trainStep(s, BATCH).get("loss")[0];
                s.optimizerStep(null);
            }
            return l;
        }
    }

    static void assertClose(float[] expected, float[] actual, double rel, String what) {
        assertEquals(expected.length, actual.length, what);
        double max = 0;
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            max = Math.max(max, Math.abs(expected[i]));
            diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(max > 0, what + ": the reference gradient is zero");
        assertTrue(diff <= rel * max, what + ": max |diff| " + diff + " > " + rel + " x max |g| " + max);
    }

    TrainingArtifacts build(String model, TrainingPlan plan) {
        return ArtifactBuilder.defaults().build(fixture(model), plan, tmp.resolve(model + "-" + plan.mode()));
    }

    @Test
    void withPastAndMergedExportsGiveTheNoPastGradients() {
        for (TrainingPlan plan : List.of(lora(), full())) {
            TrainingArtifacts ref = build("nopast.onnx", plan);
            Map<String, float[]> g0 = secondStepGradients(ref);
            for (String layout : List.of("with_past.onnx", "merged.onnx")) {
                TrainingArtifacts a = build(layout, plan);
                assertEquals(ref.trainableParameters(), a.trainableParameters(), layout);
                assertEquals(
                        List.of("input_ids", "attention_mask", "position_ids", "labels", "loss_denominator"),
                        a.trainingInputs(),
                        layout + ": no past inputs, no use_cache_branch");
                Map<String, float[]> g = secondStepGradients(a);
                assertEquals(g0.get("loss")[0], g.get("loss")[0], 1e-6 * Math.abs(g0.get("loss")[0]), layout + " loss");
                for (String p : ref.trainableParameters()) {
                    String k = ArtifactBuilder.GRAD_DEBUG_PREFIX + p;
                    assertClose(g0.get(k), g.get(k), 1e-5, layout + " " + plan.mode() + " gradient of " + p);
                }
            }
        }
    }

    @Test
    void withPastAndMergedExportsTrain() {
        TrainingPlan plan = lora().toBuilder().exposeGradients(false).build();
        for (String layout : List.of("with_past.onnx", "merged.onnx")) {
            float[] l = losses(build(layout, plan), 20, 2e-2f);
            System.out.println(layout + " LoRA SFT loss: " + l[0] + " -> " + l[19]);
            assertTrue(l[19] < 0.7 * l[0], layout + ": loss " + l[0] + " -> " + l[19]);
        }
    }

    @Test
    void constantFoldedTiedEmbeddingTrainsAsOneTensor() {
        String emb = "model.embed_tokens.weight";
        TrainingArtifacts unfolded = build("tied_unfolded.onnx", full());
        TrainingArtifacts folded = build("tied_folded.onnx", full());
        assertTrue(folded.trainableParameters().contains(emb));
        OnnxModel m = OnnxModel.read(fixture("tied_folded.onnx"));
        String copy = m.graph().initializers().values().stream()
                .filter(t -> t.getDimsCount() == 2 && t.getDims(0) == 16 && t.getDims(1) == VOCAB)
                .findFirst()
                .orElseThrow()
                .getName();
        assertFalse(
                folded.trainableParameters().contains(copy), "the folded head copy " + copy + " is not trained apart");
        assertEquals(
                unfolded.trainableParameters().size(),
                folded.trainableParameters().size());
        String k = ArtifactBuilder.GRAD_DEBUG_PREFIX + emb;
        float[] gu = secondStepGradients(unfolded).get(k);
        float[] gf = secondStepGradients(folded).get(k);
        assertClose(gu, gf, 1e-5, "embedding gradient, folded vs unfolded");
    }
}
