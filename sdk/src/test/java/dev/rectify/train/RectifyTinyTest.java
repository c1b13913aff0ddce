package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bundled 6-layer Llama (models/rectify-tiny, vocab 512, hidden 128) through the whole artifact pipeline. */
class RectifyTinyTest {
    @TempDir
    static Path tmp;

    static Path model;
    static final Batches BATCH = new Batches(11, 2, 16, 512);
    static final SessionConfig CPU = SessionConfig.builder().intraOpThreads(2).build();

    @BeforeAll
    static void find() {
        model = TestModels.tinyDir().resolve("model.onnx");
        assertTrue(Files.isRegularFile(model), model + " is missing: the bundled model is part of the repository");
    }

    static float[] run(Batches batch, TrainingArtifacts a, float lr, int steps, String what, float[][] logitsOut) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s =
                        TrainingSession.create(CPU, st, a.trainingModel(), a.evalModel(), a.optimizerModel())) {
            s.setLearningRate(lr);
            if (logitsOut != null) {
                List<Tensor> in = batch.feeds(s.evalInputNames(), batch.validTokens);
                List<Tensor> out = s.evalStep(in, null);
                logitsOut[0] = out.get(s.evalOutputNames().indexOf("logits")).toFloats();
                Batches.close(in);
                Batches.close(out);
            }
            float[] l = new float[steps];
            for (int i = 0; i < steps; i++) {
                s.lazyResetGrad();
                List<Tensor> in = batch.feeds(s.trainingInputNames(), batch.validTokens);
                List<Tensor> out = s.trainStep(in, null);
                l[i] = out.get(s.trainingOutputNames().indexOf(what)).toFloats()[0];
                Batches.close(in);
                Batches.close(out);
                s.optimizerStep(null);
            }
            return l;
        }
    }

    @Test
    void loraTrainsWithSftAndDft() {
        TrainingPlan sft = TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(8).alpha(16).build())
                .objective(Objective.SFT)
                .build();
        long t0 = System.nanoTime();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(model, sft, tmp.resolve("lora-sft"));
        System.out.printf("rectify-tiny LoRA artifacts built in %.2f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals(2 * 7 * 6, a.trainableParameters().size());
        float[][] logits = new float[1][];
        float[] nll = run(BATCH, a, 5e-3f, 30, "nll_sum", logits);
        System.out.println("rectify-tiny LoRA SFT nll_sum (random targets): " + nll[0] + " -> " + nll[29]);
        assertTrue(nll[29] < 0.7 * nll[0], nll[0] + " -> " + nll[29]);
        // B = 0 at step 0: the eval model's logits are the base model's
        float[] baseLogits;
        try (InferenceSession inf = InferenceSession.open(model, CPU);
                Tensor ids = Tensor.ofLongs(BATCH.ids, BATCH.b, BATCH.s);
                Tensor mask = Tensor.ofLongs(BATCH.mask, BATCH.b, BATCH.s);
                Tensor pos = Tensor.ofLongs(BATCH.pos, BATCH.b, BATCH.s);
                Outputs o = inf.run(
                        Map.of("input_ids", ids, "attention_mask", mask, "position_ids", pos), List.of("logits"))) {
            baseLogits = o.get("logits").toFloats();
        }
        assertArrayEquals(baseLogits, logits[0], 1e-4f);

        // DFT weights tokens by their probability: on random targets (p ~ 1e-5) it barely learns, by design
        // (dft-and-peers.md §1.8). Train it on targets the model already half-predicts: its own argmax.
        long[] labels = BATCH.labels.clone();
        int vocab = baseLogits.length / labels.length;
        for (int t = 0; t < labels.length; t++) {
            if (labels[t] != -100) {
                int best = 0;
                for (int c = 1; c < vocab; c++) {
                    best = baseLogits[t * vocab + c] > baseLogits[t * vocab + best] ? c : best;
                }
                labels[t] = best;
            }
        }
        // DFT's gradient is that of −Σ p_t: it raises the mean target probability (its expected-reward objective)
        // while NLL may rise as low-probability tokens are given up (dft-and-peers.md §1.8).
        TrainingPlan dft = sft.toBuilder().objective(Objective.DFT).build();
        TrainingArtifacts d = ArtifactBuilder.defaults().build(model, dft, tmp.resolve("lora-dft"));
        Batches easy = BATCH.withLabels(labels);
        try (CheckpointState st = CheckpointState.load(d.checkpoint());
                TrainingSession s =
                        TrainingSession.create(CPU, st, d.trainingModel(), d.evalModel(), d.optimizerModel())) {
            s.setLearningRate(1e-3f);
            double before = meanTargetProbability(s, easy);
            for (int i = 0; i < 30; i++) {
                s.lazyResetGrad();
                List<Tensor> in = easy.feeds(s.trainingInputNames(), easy.validTokens);
                Batches.close(s.trainStep(in, null));
                Batches.close(in);
                s.optimizerStep(null);
            }
            double after = meanTargetProbability(s, easy);
            System.out.println("rectify-tiny LoRA DFT mean target probability: " + before + " -> " + after);
            assertTrue(after > before + 0.05, before + " -> " + after);
        }
    }

    static double meanTargetProbability(TrainingSession s, Batches batch) {
        List<Tensor> in = batch.feeds(s.evalInputNames(), batch.validTokens);
        List<Tensor> out = s.evalStep(in, null);
        float[] logits = out.get(s.evalOutputNames().indexOf("logits")).toFloats();
        Batches.close(in);
        Batches.close(out);
        int vocab = logits.length / batch.labels.length;
        double sum = 0;
        for (int t = 0; t < batch.labels.length; t++) {
            if (batch.labels[t] == -100) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < vocab; c++) {
                max = Math.max(max, logits[t * vocab + c]);
            }
            double z = 0;
            for (int c = 0; c < vocab; c++) {
                z += Math.exp(logits[t * vocab + c] - max);
            }
            sum += Math.exp(logits[t * vocab + (int) batch.labels[t]] - max) / z;
        }
        return sum / batch.validTokens;
    }

    @Test
    void fullFineTuningTrains() {
        TrainingPlan plan =
                TrainingPlan.builder().fullFineTuning().objective(Objective.SFT).build();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(model, plan, tmp.resolve("full"));
        assertTrue(
                a.trainableParameters().contains("model.embed_tokens.weight"),
                a.trainableParameters().toString());
        float[] loss = run(BATCH, a, 1e-3f, 30, "loss", null);
        System.out.println("rectify-tiny full SFT loss: " + loss[0] + " -> " + loss[29]);
        assertTrue(loss[29] < 0.5 * loss[0], loss[0] + " -> " + loss[29]);
    }

    @Test
    void kvCacheExportTrainsLikeTheNoPastExport() {
        Path withPast = model.resolveSibling("model_with_past.onnx");
        assertTrue(Files.isRegularFile(withPast), withPast + " is part of the repository");
        TrainingPlan plan = TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(4).alpha(8).build())
                .objective(Objective.SFT)
                .build();
        TrainingArtifacts past = ArtifactBuilder.defaults().build(withPast, plan, tmp.resolve("past"));
        TrainingArtifacts plain = ArtifactBuilder.defaults().build(model, plan, tmp.resolve("plain"));
        assertEquals(plain.trainingInputs(), past.trainingInputs(), "the KV-cache inputs are gone");
        float[] a = run(BATCH, plain, 5e-3f, 4, "loss", null);
        float[] b = run(BATCH, past, 5e-3f, 4, "loss", null);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-5 * a[i], "step " + i + ": the with-past export trains as the no-past one");
        }
        assertTrue(a[3] < a[0], a[0] + " -> " + a[3]);
    }
}
