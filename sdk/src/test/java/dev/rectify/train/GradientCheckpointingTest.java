package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.Objective;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Gradient checkpointing ({@link GradientCheckpointing}) recomputes every decoder layer of the bundled model in the
 * backward pass (whole, or all but its weight products) and leaves the loss (1e-6) and every gradient unchanged (see
 * {@link #TOL}), for LoRA and full fine-tuning, SFT and DFT, alone and with the chunked loss head.
 */
class GradientCheckpointingTest {
    /**
     * The recomputed copy is the same ops on the same inputs, but ONNX Runtime's graph optimizer fuses the copy (fed
     * through the gating Where) differently from the forward it duplicates (e.g. no residual-add + RMSNorm fusion
     * across the layer boundary), so values differ in the last float bits: measured 2.2e-6 (SFT, LoRA) and 2.8e-6
     * (DFT, full) relative, 1.0e-5 on one LoRA tensor with DFT's small gradients and the chunked head. A wrong
     * rewire gives errors of order 1.
     */
    static final double TOL = 5e-5;

    @TempDir
    static Path tmp;

    static Stream<Arguments> cases() {
        return Stream.of(Checkpointing.LAYERS, Checkpointing.SELECTIVE)
                .flatMap(mode -> Stream.of(
                        Arguments.of(Objective.SFT, true, 1, mode),
                        Arguments.of(Objective.DFT, false, 1, mode),
                        Arguments.of(Objective.DFT, true, 4, mode)));
    }

    @ParameterizedTest(name = "{0} lora={1} lossChunks={2} {3}")
    @MethodSource("cases")
    void checkpointedGradientsEqualTheStoredOnes(Objective o, boolean lora, int chunks, Checkpointing mode) {
        Path model = TestModels.tinyDir().resolve("model.onnx");
        String tag = o.kind() + "-" + lora + "-" + chunks + "-" + mode;
        TrainingPlan base = ChunkedLossHeadTest.plan("tiny", o, lora, chunks);
        TrainingArtifacts plain = ArtifactBuilder.defaults().build(model, base, tmp.resolve(tag + "-plain"));
        TrainingArtifacts ckpt = ArtifactBuilder.defaults()
                .build(model, base.toBuilder().checkpointing(mode).build(), tmp.resolve(tag + "-ckpt"));
        Graph g = OnnxModel.read(ckpt.trainingModel()).graph();
        for (int layer = 0; layer < 6; layer++) {
            String p = "/recompute/layer" + layer + "/";
            List<Node> recomputed =
                    g.nodes().stream().filter(n -> n.name().startsWith(p)).toList();
            assertTrue(!recomputed.isEmpty(), "layer " + layer + " is recomputed");
            // the layer's products with its weight matrices (FusedMatMul on a frozen weight, MatMul on the
            // Transpose of a trained one): recomputed by LAYERS, kept by SELECTIVE
            Set<String> weights = new HashSet<>();
            for (Node n : recomputed) {
                if (n.opType().equals("Transpose") && n.input(0).startsWith("model.layers.")) {
                    weights.add(n.output(0));
                }
            }
            long weightProducts = recomputed.stream()
                    .filter(n -> n.opType().endsWith("MatMul")
                            && n.inputs().stream()
                                    .anyMatch(in -> in.startsWith("model.layers.") || weights.contains(in)))
                    .count();
            if (mode == Checkpointing.SELECTIVE) {
                assertEquals(0, weightProducts, "layer " + layer + " keeps its weight products");
            } else {
                assertTrue(weightProducts > 0, "layer " + layer + " recomputes its weight products");
            }
        }
        Batches batch = ChunkedLossHeadTest.batch("tiny");
        Map<String, float[]> ref = ChunkedLossHeadTest.step(plain, batch);
        Map<String, float[]> got = ChunkedLossHeadTest.step(ckpt, batch);
        assertEquals(ref.get("loss")[0], got.get("loss")[0], 1e-6 * Math.abs(ref.get("loss")[0]));
        double worst = 0;
        for (String p : plain.trainableParameters()) {
            float[] x = got.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
            float[] y = ref.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + p);
            double d2 = 0;
            double y2 = 0;
            for (int i = 0; i < y.length; i++) {
                d2 += (x[i] - (double) y[i]) * (x[i] - (double) y[i]);
                y2 += (double) y[i] * y[i];
            }
            assertTrue(y2 > 0, p + " has a zero gradient");
            double rel = Math.sqrt(d2 / y2);
            worst = Math.max(worst, rel);
            assertTrue(rel <= TOL, p + ": ||g_ckpt - g|| / ||g|| = " + rel);
        }
        System.out.printf(
                "gradient checkpointing %s, %s lora=%s chunks=%d: %d nodes recomputed, loss %.8f vs %.8f, "
                        + "worst gradient rel %.2e%n",
                mode,
                o.kind(),
                lora,
                chunks,
                g.nodes().stream()
                        .filter(n -> n.name().startsWith("/recompute/"))
                        .count(),
                got.get("loss")[0],
                ref.get("loss")[0],
                worst);
    }
}
