package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraInjector;
import dev.rectify.lora.LoraTarget;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT's lora_dropout ({@code B(A(dropout(x)))·scale}) in the training graph only: p = 0 is exactly no dropout;
 * p &gt; 0 changes the training loss but not the evaluation loss; masks are seeded (a fresh session draws the same
 * ones); the gradient through the mask matches central differences of the training loss under that mask.
 * B starts non-zero so the LoRA branch contributes.
 */
class LoraDropoutTest {
    @TempDir
    static Path tmp;

    static Path base;
    static final Batches BATCH = new Batches(7, 2, 8, TinyLlama.VOCAB);

    @BeforeAll
    static void writeBase() throws Exception {
        Files.createDirectories(tmp.resolve("base"));
        base = tmp.resolve("base/model.onnx");
        TinyLlama.build(1, false).write(base);
    }

    private static TrainingArtifacts build(double dropout, String name) {
        LoraConfig.Builder c = LoraConfig.builder().rank(4).alpha(8).seed(3).dropout(dropout);
        Random r = new Random(9);
        for (LoraTarget t :
                LoraInjector.of(c.build()).findTargets(OnnxModel.read(base).graph())) {
            float[] b = new float[(int) (t.outFeatures() * 4)];
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (r.nextGaussian() * 0.3);
            }
            c.initialValue(t.loraB(), b);
        }
        TrainingPlan plan = TrainingPlan.builder()
                .lora(c.build())
                .objective(Objective.SFT)
                .exposeGradients(true)
                .build();
        return ArtifactBuilder.defaults().build(base, plan, tmp.resolve(name));
    }

    private static long dropouts(Path model) {
        return OnnxModel.read(model).graph().nodes().stream()
                .map(Node::opType)
                .filter("Dropout"::equals)
                .count();
    }

    /** Training loss and gradients of the first step of a fresh session, at {@code theta} (null: the checkpoint's). */
    private static Map<String, float[]> firstStep(TrainingArtifacts a, float[] theta) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 0f)) {
            if (theta != null) {
                s.copyParametersIn(theta, true);
            }
            s.lazyResetGrad();
            return ArtifactBuilderOrtTest.trainStep(s, BATCH);
        }
    }

    private static double evalLoss(TrainingArtifacts a) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 0f)) {
            List<Tensor> in = BATCH.feeds(s.evalInputNames(), BATCH.validTokens);
            List<Tensor> out = s.evalStep(in, null);
            Batches.close(in);
            double loss =
                    out.get(s.evalOutputNames().indexOf(ObjectiveHead.LOSS)).toFloats()[0];
            Batches.close(out);
            return loss;
        }
    }

    @Test
    void zeroDropoutIsExactlyNoDropoutAndDropoutTrainsOnlyInTraining() {
        TrainingArtifacts none = build(0, "p0");
        TrainingArtifacts some = build(0.3, "p03");
        assertEquals(0, dropouts(none.trainingModel()));
        int branches = LoraInjector.of(LoraConfig.builder().rank(4).build())
                .findTargets(OnnxModel.read(base).graph())
                .size();
        assertEquals(branches, dropouts(some.trainingModel()), "one Dropout per LoRA branch");
        assertEquals(0, dropouts(some.evalModel()), "never in the eval graph");

        float lossNone = firstStep(none, null).get(ObjectiveHead.LOSS)[0];
        float lossSome = firstStep(some, null).get(ObjectiveHead.LOSS)[0];
        assertNotEquals(lossNone, lossSome, "dropout changes the training loss");
        assertEquals(
                lossSome,
                firstStep(some, null).get(ObjectiveHead.LOSS)[0],
                0f,
                "seeded: a fresh run draws the same masks");
        assertEquals(evalLoss(none), evalLoss(some), 0.0, "evaluation never drops");
        assertEquals(lossNone, evalLoss(none), 1e-5, "without dropout the training and eval losses agree");
    }

    @Test
    void gradientThroughTheMaskMatchesFiniteDifferences() {
        TrainingArtifacts a = build(0.3, "fd");
        Map<String, float[]> out = firstStep(a, null);
        float[] theta;
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s = ArtifactBuilderOrtTest.open(a, st, 0f)) {
            theta = s.copyParametersOut(true);
        }
        float[] grad = new float[theta.length];
        int k = 0;
        for (String p : a.trainableParameters()) {
            float[] g = out.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
            System.arraycopy(g, 0, grad, k, g.length);
            k += g.length;
        }
        assertEquals(theta.length, k);
        TrainingArtifacts plain = build(0, "fd-plain");
        Map<String, float[]> plainOut = firstStep(plain, null);
        String firstA = a.trainableParameters().stream()
                .filter(n -> n.endsWith(".lora_A.weight"))
                .findFirst()
                .orElseThrow();
        float[] gA = out.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + firstA);
        float[] gPlain = plainOut.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + firstA);
        double diff = 0;
        for (int i = 0; i < gA.length; i++) {
            diff = Math.max(diff, Math.abs(gA[i] - gPlain[i]));
        }
        assertTrue(diff > 1e-4, "the mask changes A's gradient: " + diff);
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
            double fd = (loss(a, theta, v, eps) - loss(a, theta, v, -eps)) / (2 * eps);
            System.out.println("lora_dropout directional derivative: autodiff " + dot + ", central difference " + fd);
            assertEquals(fd, dot, 2e-3 + 1e-2 * Math.abs(fd));
        }
    }

    private static double loss(TrainingArtifacts a, float[] theta, double[] v, double eps) {
        float[] p = new float[theta.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (theta[i] + eps * v[i]);
        }
        return firstStep(a, p).get(ObjectiveHead.LOSS)[0]; // a fresh session: the same masks as the gradient's step
    }
}
