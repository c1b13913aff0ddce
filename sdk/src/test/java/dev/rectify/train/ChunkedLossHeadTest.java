package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraInjector;
import dev.rectify.lora.LoraTarget;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import dev.rectify.parity.ParityFixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The chunked loss head ({@link ChunkedLossHead}) gives the unchunked head's loss, NLL, token count and gradients
 * (1e-6 relative) on the bundled model and on the parity fixtures (Llama and GPT-2 exports), SFT and DFT, LoRA and
 * full fine-tuning (where the tied embedding, and so the head weight, trains), for a block count that divides the
 * tokens unevenly and for one-token blocks.
 */
class ChunkedLossHeadTest {
    static final double TOL = 1e-6;
    static final SessionConfig CPU = SessionConfig.builder().intraOpThreads(1).build();

    @TempDir
    static Path tmp;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String model : List.of("tiny", "llama", "gpt2")) {
            for (Objective o : List.of(Objective.SFT, Objective.DFT)) {
                for (boolean lora : List.of(true, false)) {
                    out.add(Arguments.of(model, o, lora));
                }
            }
        }
        return out.stream();
    }

    static Path modelFile(String model) {
        return model.equals("tiny")
                ? TestModels.tinyDir().resolve("model.onnx")
                : ParityFixture.load(model).model();
    }

    static TrainingPlan plan(String model, Objective o, boolean lora, int chunks) {
        TrainingPlan.Builder b =
                TrainingPlan.builder().objective(o).exposeGradients(true).lossChunks(chunks);
        if (!lora) {
            return b.fullFineTuning().build();
        }
        List<String> targets = model.equals("gpt2")
                ? List.of("c_attn", "c_proj", "c_fc")
                : List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
        LoraConfig.Builder lb = LoraConfig.builder().rank(4).alpha(8).seed(3).targetModules(targets);
        Random r = new Random(4);
        Graph g = OnnxModel.read(modelFile(model)).graph();
        for (LoraTarget t : LoraInjector.of(
                        LoraConfig.builder().rank(4).targetModules(targets).build())
                .findTargets(g)) {
            float[] v = new float[(int) t.outFeatures() * 4];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (r.nextGaussian() * 0.02);
            }
            lb.initialValue(t.loraB(), v);
        }
        return b.lora(lb.build()).build();
    }

    static Batches batch(String model) {
        return model.equals("tiny") ? new Batches(21, 2, 16, 512) : new Batches(21, 2, 9, vocab(model));
    }

    static int vocab(String model) {
        return (int) OnnxModel.read(modelFile(model))
                .graph()
                .output("logits")
                .orElseThrow()
                .getType()
                .getTensorType()
                .getShape()
                .getDim(2)
                .getDimValue();
    }

    static Map<String, float[]> step(TrainingArtifacts a, Batches batch) {
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s =
                        TrainingSession.create(CPU, st, a.trainingModel(), a.evalModel(), a.optimizerModel())) {
            s.lazyResetGrad();
            List<Tensor> in = batch.feeds(s.trainingInputNames(), batch.validTokens);
            List<Tensor> out = s.trainStep(in, null);
            Map<String, float[]> m = new HashMap<>();
            for (int i = 0; i < out.size(); i++) {
                m.put(s.trainingOutputNames().get(i), out.get(i).toFloats());
            }
            Batches.close(in);
            Batches.close(out);
            return m;
        }
    }

    @ParameterizedTest(name = "{0} {1} lora={2}")
    @MethodSource("cases")
    void chunkedHeadEqualsTheWholeHead(String model, Objective o, boolean lora) {
        Batches batch = batch(model);
        int tokens = batch.b * batch.s;
        String tag = model + "-" + o.kind() + "-" + lora;
        TrainingArtifacts whole =
                ArtifactBuilder.defaults().build(modelFile(model), plan(model, o, lora, 1), tmp.resolve(tag + "-1"));
        Map<String, float[]> ref = step(whole, batch);
        // 5 and 7 blocks: uneven; as many blocks as tokens: one token each, whose matrix-vector products round
        // differently from the whole head's matrix products (a few 1e-7; 5e-6 allowed there)
        for (int chunks : List.of(5, 7, tokens)) {
            double tol = chunks == tokens ? 5e-6 : TOL;
            TrainingArtifacts a = ArtifactBuilder.defaults()
                    .build(modelFile(model), plan(model, o, lora, chunks), tmp.resolve(tag + "-" + chunks));
            Graph tg = OnnxModel.read(a.trainingModel()).graph();
            assertFalse(
                    tg.tensorNames().contains(ArtifactBuilder.LOGITS), "no whole logits tensor in the training graph");
            assertEquals(
                    chunks,
                    tg.nodes().stream()
                            .filter(n -> n.name().contains("/chunk")
                                    && n.outputs().get(0).endsWith("/logits"))
                            .count(),
                    "one head projection per block");
            Map<String, float[]> got = step(a, batch);
            double worst = 0;
            for (String k : List.of("loss", "nll_sum", "valid_tokens")) {
                double x = got.get(k)[0];
                double y = ref.get(k)[0];
                assertEquals(y, x, tol * Math.abs(y), k + " with " + chunks + " blocks");
            }
            for (String p : whole.trainableParameters()) {
                float[] x = got.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
                float[] y = ref.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
                double d2 = 0;
                double y2 = 0;
                for (int i = 0; i < y.length; i++) {
                    d2 += (x[i] - (double) y[i]) * (x[i] - (double) y[i]);
                    y2 += (double) y[i] * y[i];
                }
                if (y2 == 0) {
                    assertEquals(0, d2, p + " has a zero gradient unchunked");
                    continue;
                }
                double rel = Math.sqrt(d2 / y2);
                worst = Math.max(worst, rel);
                assertTrue(rel <= tol, p + " with " + chunks + " blocks: ||g - g_whole|| / ||g_whole|| = " + rel);
            }
            System.out.printf(
                    "%s %s lora=%s, %d blocks over %d tokens: loss %.8f vs %.8f, worst gradient rel %.2e%n",
                    model, o.kind(), lora, chunks, tokens, got.get("loss")[0], ref.get("loss")[0], worst);
        }
    }

    @Test
    void automaticChunkingFollowsTheBufferSize() {
        assertEquals(1, ChunkedLossHead.autoChunks(0, 151_936));
        assertEquals(1, ChunkedLossHead.autoChunks(256, 32_000), "33 MB: unchunked");
        assertEquals(5, ChunkedLossHead.autoChunks(512, 151_936), "311 MB: 5 blocks of <= 64 MiB");
        assertEquals(64, ChunkedLossHead.autoChunks(1 << 20, 151_936), "capped");
        TrainingPlan auto = TrainingPlan.builder().microBatchTokens(512).build();
        assertTrue(auto.canonical().contains("lossChunks=0@512"), auto.canonical());
        assertEquals(
                TrainingPlan.builder().build().canonical(),
                TrainingPlan.builder().lossChunks(0).build().canonical(),
                "plans without the option keep their hash");
    }
}
