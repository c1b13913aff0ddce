package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.NoLoraTargetException;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Typed errors for graphs and plans that cannot be trained. */
class UntrainableModelTest {
    @TempDir
    Path tmp;

    static TrainingArtifacts build(OnnxModel m, TrainingPlan plan, Path dir) {
        return ArtifactBuilder.defaults().build(m, "test", plan, dir);
    }

    @Test
    void noLogitsOutput() {
        OnnxModel m = TinyLlama.build(1, false);
        Graph g = m.graph();
        g.renameTensor("logits", "scores");
        UntrainableModelException e = assertThrows(
                UntrainableModelException.class,
                () -> build(m.withGraph(g), TrainingPlan.builder().build(), tmp));
        assertTrue(e.getMessage().contains("'logits'") && e.getMessage().contains("scores"), e.getMessage());
    }

    @Test
    void inferenceOnlyContribOpOnThePath() {
        OnnxModel m = TinyLlama.build(1, false);
        Graph g = m.graph();
        Node n = g.node("/model/layers.0/self_attn/Softmax").orElseThrow();
        n.opType("GroupQueryAttention").domain(OnnxModel.MICROSOFT);
        UntrainableModelException e = assertThrows(
                UntrainableModelException.class,
                () -> build(m.withGraph(g), TrainingPlan.builder().build(), tmp));
        assertTrue(e.getMessage().contains("com.microsoft.GroupQueryAttention"), e.getMessage());
        assertTrue(e.getMessage().contains("/model/layers.0/self_attn/Softmax"), e.getMessage());
    }

    @Test
    void kvCacheInputWithoutFixedHeadsRefused() {
        OnnxModel m = TinyLlama.build(1, false);
        Graph g = m.graph();
        // a read past input whose head count is symbolic: no empty cache can be built for training
        g.addInput(Builders.tensor("past_key_values.0.key", DataType.FLOAT, "batch", "heads", "past", 8));
        g.addNode(Node.of("Identity", List.of("past_key_values.0.key"), List.of("past_copy"))
                .name("/past/Identity"));
        UntrainableModelException e = assertThrows(
                UntrainableModelException.class,
                () -> build(m.withGraph(g), TrainingPlan.builder().build(), tmp));
        assertTrue(
                e.getMessage().contains("past_key_values.0.key")
                        && e.getMessage().contains("heads"),
                e.getMessage());
    }

    @Test
    void unreadKvCacheInputIsDropped() {
        OnnxModel m = TinyLlama.build(1, false);
        Graph g = m.graph();
        g.addInput(Builders.tensor("past_key_values.0.key", DataType.FLOAT, "batch", 2, "past", 8));
        TrainingArtifacts a = build(m.withGraph(g), TrainingPlan.builder().build(), tmp);
        assertFalse(
                a.trainingInputs().contains("past_key_values.0.key"),
                a.trainingInputs().toString());
    }

    @Test
    void noLoraTarget() {
        TrainingPlan plan = TrainingPlan.builder()
                .lora(LoraConfig.builder().targetModules("c_attn").build())
                .build();
        assertThrows(NoLoraTargetException.class, () -> build(TinyLlama.build(1, false), plan, tmp));
    }

    @Test
    void fullFineTuningSelectingNothing() {
        TrainingPlan plan =
                TrainingPlan.builder().fullFineTuning("no_such_weight").build();
        NoTrainableParametersException e =
                assertThrows(NoTrainableParametersException.class, () -> build(TinyLlama.build(1, false), plan, tmp));
        assertTrue(e.getMessage().contains("model.embed_tokens.weight"), e.getMessage());
    }

    @Test
    void patternSelectionTrainsNorms() {
        TrainingPlan plan = TrainingPlan.builder()
                .fullFineTuning("layernorm\\.weight$")
                .objective(Objective.SFT)
                .build();
        TrainingArtifacts a = build(TinyLlama.build(1, false), plan, tmp);
        assertEquals(2 * TinyLlama.LAYERS, a.trainableParameters().size());
    }

    @Test
    void planValidationAndHash() {
        assertThrows(
                InvalidArgumentException.class,
                () -> TrainingPlan.builder().betas(1.0, 0.9).build());
        assertThrows(
                InvalidArgumentException.class,
                () -> TrainingPlan.builder().maxGradNorm(-1).build());
        assertThrows(
                InvalidArgumentException.class,
                () -> TrainingPlan.builder().fullFineTuning("(").build());
        TrainingPlan p = TrainingPlan.builder().build();
        assertEquals(p.hash(), p.toBuilder().build().hash());
        assertNotEquals(p.hash(), p.toBuilder().objective(Objective.SFT).build().hash());
        assertEquals(0.95, p.beta2());
        assertEquals(Normalization.STEP_TOKENS, p.normalization());
        assertEquals(1024f, Normalization.STEP_TOKENS.denominator(100, 1024, 4));
        assertEquals(400f, Normalization.MICRO_BATCH_MEAN.denominator(100, 1024, 4));
    }

    @Test
    void optimizerModelAttributesAreExplicit() {
        var plan = TrainingPlan.builder().weightDecay(0).maxGradNorm(0).build();
        var g = OptimizerModel.of(plan, 3).graph();
        assertEquals(OptimizerModel.INPUTS, g.inputNames());
        assertEquals(1, g.nodes().size(), "no clipping node when max grad norm is 0");
        var adamw = g.nodes().get(0);
        for (String attr : List.of("alpha", "beta", "epsilon", "weight_decay", "adam_mode", "correct_bias")) {
            assertTrue(adamw.hasAttribute(attr), attr);
        }
        assertEquals(0f, adamw.attribute("weight_decay").orElseThrow().getF());
        assertEquals(0L, adamw.attribute("adam_mode").orElseThrow().getI());
        var clipped = OptimizerModel.of(TrainingPlan.builder().build(), 3).graph();
        var last = clipped.nodes().get(clipped.nodes().size() - 1);
        assertEquals("AdamWOptimizer", last.opType(), "AdamW comes after the clipping nodes");
        assertEquals("gradients.clipped", last.inputs().get(3), "AdamW reads the clipped gradients");
    }
}
