package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Artifacts for a small Llama-like model, run through ORT's training API. */
class ArtifactBuilderOrtTest {
    @TempDir
    static Path tmp;

    static Path base;
    static final Batches BATCH = new Batches(7, 2, 8, TinyLlama.VOCAB);
    static final SessionConfig CPU = SessionConfig.builder().intraOpThreads(1).build();

    @BeforeAll
    static void writeBase() throws Exception {
        Files.createDirectories(tmp.resolve("base"));
        base = tmp.resolve("base/model.onnx");
        // base weights as external data, as large exports have them
        TinyLlama.build(1, false).write(base, "model.onnx.data", 256);
    }

    static TrainingPlan lora(Objective o) {
        return TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(4).alpha(8).seed(3).build())
                .objective(o)
                .exposeGradients(true)
                .build();
    }

    static TrainingSession open(TrainingArtifacts a, CheckpointState state, float lr) {
        TrainingSession s = TrainingSession.create(CPU, state, a.trainingModel(), a.evalModel(), a.optimizerModel());
        s.setLearningRate(lr);
        return s;
    }

    /** One optimizer step on the fixed batch; returns the training outputs by name. */
    static Map<String, float[]> step(TrainingSession s, boolean optimize) {
        s.lazyResetGrad();
        Map<String, float[]> out = trainStep(s);
        if (optimize) {
            s.optimizerStep(null);
        }
        return out;
    }

    static Map<String, float[]> trainStep(TrainingSession s) {
        return trainStep(s, BATCH);
    }

    static Map<String, float[]> trainStep(TrainingSession s, Batches batch) {
        List<Tensor> in = batch.feeds(s.trainingInputNames(), batch.validTokens);
        try {
            List<Tensor> outs = s.trainStep(in, null);
            Map<String, float[]> m = new HashMap<>();
            for (int i = 0; i < outs.size(); i++) {
                m.put(s.trainingOutputNames().get(i), outs.get(i).toFloats());
                outs.get(i).close();
            }
            return m;
        } finally {
            Batches.close(in);
        }
    }

    static float[] losses(TrainingSession s, int steps, String what) {
        float[] l = new float[steps];
        for (int i = 0; i < steps; i++) {
            l[i] = step(s, true).get(what)[0];
        }
        return l;
    }

    @Test
    void loraArtifactsLoadAndNllFalls() {
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, lora(Objective.DFT), tmp.resolve("lora"));
        assertEquals(2 * 7 * TinyLlama.LAYERS, a.trainableParameters().size());
        assertTrue(a.trainableParameters().get(0).startsWith("base_model.model.model.layers.0.self_attn.q_proj.lora_"));
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 1e-2f)) {
            assertEquals(a.trainingInputs(), s.trainingInputNames());
            assertEquals(
                    List.of("input_ids", "attention_mask", "position_ids", "labels", "loss_denominator"),
                    s.trainingInputNames());
            assertEquals(a.trainingOutputs(), s.trainingOutputNames());
            assertEquals(
                    List.of("loss", "nll_sum", "valid_tokens", "grad_norm_sq"),
                    s.trainingOutputNames().subList(0, 4));
            float[] nll = losses(s, 30, "nll_sum");
            System.out.println("LoRA DFT nll_sum: " + nll[0] + " -> " + nll[29]);
            assertTrue(nll[29] < 0.7 * nll[0], "nll " + nll[0] + " -> " + nll[29]);
        }
    }

    @Test
    void fullFineTuningArtifactsLoadAndLossFalls() {
        TrainingPlan plan =
                TrainingPlan.builder().fullFineTuning().objective(Objective.SFT).build();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, plan, tmp.resolve("full"));
        assertTrue(a.trainableParameters().contains("model.embed_tokens.weight"));
        assertTrue(a.trainableParameters().contains("model.layers.1.mlp.down_proj.weight"));
        assertTrue(!a.trainableParameters().contains("model.norm.weight"), "norms are 1-D and not selected by default");
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 3e-3f)) {
            float[] loss = losses(s, 30, "loss");
            System.out.println("full SFT loss: " + loss[0] + " -> " + loss[29]);
            assertTrue(loss[29] < 0.5 * loss[0], "loss " + loss[0] + " -> " + loss[29]);
        }
    }

    @Test
    void gradientsAccumulateWithoutReset() {
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, lora(Objective.SFT), tmp.resolve("acc"));
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 1e-2f)) {
            step(s, true); // make B non-zero so A gets gradients too
            Map<String, float[]> first = step(s, false);
            double sumSq = 0;
            for (String p : a.trainableParameters()) {
                for (float v : first.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p)) {
                    sumSq += (double) v * v;
                }
            }
            float n1 = first.get("grad_norm_sq")[0];
            assertEquals(sumSq, n1, 1e-5 * sumSq, "grad_norm_sq is the squared norm of the gradients");
            Map<String, float[]> second = trainStep(s); // no reset: the buffers now hold 2·g
            assertEquals(4 * n1, second.get("grad_norm_sq")[0], 1e-5 * n1);
            assertArrayEquals(
                    first.get(ArtifactBuilder.GRAD_DEBUG_PREFIX
                            + a.trainableParameters().get(1)),
                    second.get(ArtifactBuilder.GRAD_DEBUG_PREFIX
                            + a.trainableParameters().get(1)),
                    0f);
            s.lazyResetGrad();
            assertEquals(n1, trainStep(s).get("grad_norm_sq")[0], 1e-6 * n1, "a reset overwrites");

            // two different micro-batches: the buffers hold g1 + g2
            Batches other = new Batches(99, 2, 8, TinyLlama.VOCAB);
            s.lazyResetGrad();
            Map<String, float[]> m1 = trainStep(s, BATCH);
            Map<String, float[]> m2 = trainStep(s, other);
            double sum = 0;
            for (String p : a.trainableParameters()) {
                float[] g1 = m1.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
                float[] g2 = m2.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
                for (int i = 0; i < g1.length; i++) {
                    double v = (double) g1[i] + g2[i];
                    sum += v * v;
                }
            }
            assertEquals(sum, m2.get("grad_norm_sq")[0], 1e-5 * sum, "accumulated = g1 + g2");
        }
    }

    @Test
    void fullFineTuningWithExternalCheckpointData() throws Exception {
        TrainingPlan plan =
                TrainingPlan.builder().fullFineTuning().objective(Objective.SFT).build();
        TrainingArtifacts a = ArtifactBuilder.builder()
                .checkpointExternalDataThreshold(0)
                .build()
                .build(base, plan, tmp.resolve("ckext"));
        assertTrue(Files.isRegularFile(a.folder().resolve("checkpoint.data")));
        assertTrue(CheckpointFile.read(a.checkpoint()).externalData());
        Path saved = tmp.resolve("ckext-saved/checkpoint");
        Files.createDirectories(saved.getParent()); // ORT does not create folders
        float[] expected;
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 3e-3f)) {
            losses(s, 2, "loss");
            st.save(saved, true);
            expected = losses(s, 2, "loss");
        }
        try (CheckpointState st = CheckpointState.load(saved);
                TrainingSession s = open(a, st, 3e-3f)) {
            assertArrayEquals(expected, losses(s, 2, "loss"), 0f);
        }
    }

    @Test
    void checkpointReloadContinuesIdentically() throws Exception {
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, lora(Objective.DFT), tmp.resolve("resume"));
        Path saved = tmp.resolve("resume-saved.ckpt");
        float[] expected;
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 1e-2f)) {
            losses(s, 3, "loss");
            st.save(saved, true);
            expected = losses(s, 5, "loss");
        }
        try (CheckpointState st = CheckpointState.load(saved);
                TrainingSession s = open(a, st, 1e-2f)) {
            assertEquals(a.property(ArtifactBuilder.PROP_PLAN_HASH), st.property(ArtifactBuilder.PROP_PLAN_HASH));
            assertArrayEquals(expected, losses(s, 5, "loss"), 0f);
        }
        CheckpointFile f = CheckpointFile.read(saved);
        assertEquals(3 + 0, f.optimizerGroups().get(0).step());
    }

    @Test
    void evalAndExportForInference() {
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, lora(Objective.DFT), tmp.resolve("export"));
        Path exported = tmp.resolve("export/inference.onnx");
        float[] evalLogits;
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 1e-2f)) {
            losses(s, 3, "loss");
            assertEquals(a.evalOutputs(), s.evalOutputNames());
            List<Tensor> in = BATCH.feeds(s.evalInputNames(), BATCH.validTokens);
            List<Tensor> out = s.evalStep(in, null);
            Batches.close(in);
            Map<String, float[]> m = new HashMap<>();
            for (int i = 0; i < out.size(); i++) {
                m.put(s.evalOutputNames().get(i), out.get(i).toFloats());
            }
            Batches.close(out);
            assertEquals(BATCH.validTokens, m.get("valid_tokens")[0]);
            assertTrue(m.get("correct_tokens")[0] >= 0 && m.get("correct_tokens")[0] <= BATCH.validTokens);
            evalLogits = m.get("logits");
            s.exportForInference(exported, List.of("logits"));
        }
        try (InferenceSession inf = InferenceSession.open(exported, CPU);
                Tensor ids = Tensor.ofLongs(BATCH.ids, BATCH.b, BATCH.s);
                Tensor mask = Tensor.ofLongs(BATCH.mask, BATCH.b, BATCH.s);
                Tensor pos = Tensor.ofLongs(BATCH.pos, BATCH.b, BATCH.s);
                Outputs o = inf.run(
                        Map.of("input_ids", ids, "attention_mask", mask, "position_ids", pos), List.of("logits"))) {
            assertArrayEquals(evalLogits, o.get("logits").toFloats(), 1e-6f);
        }
    }

    @Test
    void gradientClippingClipsToMaxNorm() {
        double maxNorm = 0.05;
        TrainingPlan plan = TrainingPlan.builder()
                .fullFineTuning()
                .objective(Objective.SFT)
                .maxGradNorm(maxNorm)
                .betas(0.9, 0.95)
                .build();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, plan, tmp.resolve("clip"));
        Path saved = tmp.resolve("clip-saved.ckpt");
        double pre;
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 1e-3f)) {
            pre = Math.sqrt(step(s, true).get("grad_norm_sq")[0]);
            st.save(saved, true);
        }
        // after one step, momentum0 = (1 − β1)·g_clipped
        double m0 = 0;
        for (List<CheckpointFile.Entry> moments :
                CheckpointFile.read(saved).optimizerGroups().get(0).moments().values()) {
            for (CheckpointFile.Entry e : moments) {
                if (e.name().equals("momentum0")) {
                    for (float v : e.floats()) {
                        m0 += (double) v * v;
                    }
                }
            }
        }
        double post = Math.sqrt(m0) / (1 - 0.9);
        System.out.println("grad norm before clip " + pre + ", after " + post + " (max " + maxNorm + ")");
        assertTrue(pre > 10 * maxNorm, "the test needs a gradient larger than the max norm, got " + pre);
        assertEquals(maxNorm, post, 1e-3 * maxNorm);
    }

    @Test
    void modelGradientMatchesFiniteDifferences() {
        TrainingPlan plan = TrainingPlan.builder()
                .fullFineTuning()
                .objective(Objective.SFT)
                .exposeGradients(true)
                .build();
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, plan, tmp.resolve("fd"));
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = open(a, st, 1e-3f)) {
            Map<String, float[]> out = step(s, false);
            float[] theta = s.copyParametersOut(true);
            float[] grad = new float[theta.length];
            int k = 0;
            for (String p : a.trainableParameters()) {
                float[] g = out.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
                System.arraycopy(g, 0, grad, k, g.length);
                k += g.length;
            }
            assertEquals(theta.length, k);
            Random r = new Random(5);
            for (int trial = 0; trial < 3; trial++) {
                double[] v = new double[theta.length];
                double norm = 0;
                for (int i = 0; i < v.length; i++) {
                    v[i] = r.nextGaussian();
                    norm += v[i] * v[i];
                }
                double dot = 0;
                for (int i = 0; i < v.length; i++) {
                    v[i] /= Math.sqrt(norm);
                    dot += v[i] * grad[i];
                }
                double eps = 1e-2;
                double fd = (evalLoss(s, theta, v, eps) - evalLoss(s, theta, v, -eps)) / (2 * eps);
                System.out.println("directional derivative: autodiff " + dot + ", central difference " + fd);
                assertEquals(fd, dot, 2e-3 + 1e-2 * Math.abs(fd));
            }
            s.copyParametersIn(theta, true);
        }
    }

    static double evalLoss(TrainingSession s, float[] theta, double[] v, double eps) {
        float[] p = new float[theta.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (theta[i] + eps * v[i]);
        }
        s.copyParametersIn(p, true);
        List<Tensor> in = BATCH.feeds(s.evalInputNames(), BATCH.validTokens);
        List<Tensor> out = s.evalStep(in, null);
        Batches.close(in);
        double loss = out.get(0).toFloats()[0];
        Batches.close(out);
        return loss;
    }
}
