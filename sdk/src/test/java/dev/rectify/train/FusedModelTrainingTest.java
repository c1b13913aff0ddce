package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Artifact building lowers fused inference ops (no gradient rules) before differentiating; the base stays fused. */
class FusedModelTrainingTest {
    @TempDir
    Path tmp;

    /** TinyLlama with a com.microsoft SkipLayerNormalization over the lm_head output, which has no gradient rule. */
    static OnnxModel withSkipLayerNorm() {
        OnnxModel m = TinyLlama.build(1, false);
        Graph g = m.graph();
        Node head = g.producer("logits").orElseThrow();
        long vocab = TinyLlama.VOCAB;
        head.outputs().set(0, "pre_logits");
        float[] ones = new float[(int) vocab];
        Arrays.fill(ones, 1.5f);
        g.addInitializer(Tensors.ofFloats("head_norm.gamma", ones, vocab));
        g.addInitializer(Tensors.ofFloats("head_norm.beta", new float[(int) vocab], vocab));
        g.addNode(Node.of(
                        "SkipLayerNormalization",
                        List.of("pre_logits", "pre_logits", "head_norm.gamma", "head_norm.beta"),
                        List.of("logits"))
                .domain(OnnxModel.MICROSOFT)
                .name("/head_norm/SkipLayerNorm")
                .attr("epsilon", 1e-5f));
        return m.withGraph(g);
    }

    @Test
    void fusedOpsAreLoweredInTheTrainingGraphOnly() {
        OnnxModel base = withSkipLayerNorm();
        TrainingArtifacts a = ArtifactBuilder.defaults()
                .build(base, "test", TrainingPlan.builder().build(), tmp);
        for (Path p : List.of(a.trainingModel(), a.evalModel())) {
            for (Node n : OnnxModel.read(p).graph().nodes()) {
                assertFalse(n.opType().equals("SkipLayerNormalization"), p + " still holds " + n);
            }
        }
        assertTrue(
                base.graph().nodes().stream().anyMatch(n -> n.opType().equals("SkipLayerNormalization")),
                "the base model given to the builder must stay fused");
    }

    @Test
    void anUnlowerableOpIsATypedUntrainableError() {
        OnnxModel m = withSkipLayerNorm();
        Graph g = m.graph();
        g.node("/head_norm/SkipLayerNorm").orElseThrow().opType("MatMulBnb4");
        UntrainableModelException e = assertThrows(
                UntrainableModelException.class,
                () -> ArtifactBuilder.defaults()
                        .build(m.withGraph(g), "test", TrainingPlan.builder().build(), tmp));
        assertTrue(
                e.getMessage().contains("MatMulBnb4") && e.getMessage().contains("/head_norm/SkipLayerNorm"),
                e.getMessage());
    }
}
