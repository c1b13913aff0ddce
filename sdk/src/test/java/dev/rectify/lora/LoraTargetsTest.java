package dev.rectify.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.train.TinyLlama;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** LoRA's default targets: every linear projection in the decoder layers, never the head (issue 10 item 7). */
class LoraTargetsTest {
    static Graph gpt2() {
        return OnnxModel.read(TestModels.fixtures().resolve("parity/gpt2/model.onnx"))
                .graph();
    }

    static List<LoraTarget> allLinear(Graph g) {
        return LoraInjector.of(LoraConfig.builder()
                        .targetModules(LoraTargets.ALL_LINEAR)
                        .build())
                .findTargets(g);
    }

    @Test
    void gpt2DefaultTargetsAreTheLayerProjectionsNotTheHead() {
        Graph g = gpt2();
        List<LoraTarget> found = allLinear(g);
        // per block: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj
        assertEquals(4 * 2, found.size(), found.toString());
        for (LoraTarget t : found) {
            assertTrue(t.module().startsWith("transformer.h."), t.module());
            assertFalse(t.baseWeight().startsWith("transformer.wte"), "the tied head is not a target: " + t);
        }
        assertEquals(Set.of("c_attn", "c_proj", "c_fc"), LoraTargets.resolve(g, Set.of(LoraTargets.ALL_LINEAR), ""));
        assertEquals(Set.of("c_attn", "c_proj", "c_fc"), LoraTargets.resolve(g, Set.of(), "gpt2"), "gpt2's usual list");
        // the model type's list is used only where it matches the graph
        assertEquals(Set.of("c_attn", "c_proj", "c_fc"), LoraTargets.resolve(g, Set.of(), "llama"));
        // and injection with the default trains every one of them
        Graph copy = gpt2();
        assertEquals(
                8,
                LoraInjector.of(LoraConfig.builder()
                                .targetModules(LoraTargets.ALL_LINEAR)
                                .build())
                        .inject(copy)
                        .size());
    }

    @Test
    void untiedLmHeadIsNeverATarget() {
        Graph g = TinyLlama.build(1, false).graph();
        assertTrue(g.isInitializer("lm_head.weight"));
        List<LoraTarget> found = allLinear(g);
        assertEquals(7 * TinyLlama.LAYERS, found.size());
        assertTrue(found.stream().noneMatch(t -> t.module().contains("lm_head")), found.toString());
        // constant-folded export: modules come from node names (/model/layers.0/self_attn/q_proj/MatMul)
        List<LoraTarget> folded = allLinear(TinyLlama.build(1, true).graph());
        assertEquals(7 * TinyLlama.LAYERS, folded.size(), folded.toString());
        assertTrue(folded.stream().noneMatch(t -> t.module().contains("lm_head")), folded.toString());
    }

    @Test
    void layerProjectionsNeedALayerIndex() {
        assertTrue(LoraTargets.isLayerProjection("model.layers.3.mlp.up_proj"));
        assertTrue(LoraTargets.isLayerProjection("transformer.h.0.attn.c_attn"));
        assertFalse(LoraTargets.isLayerProjection("lm_head"));
        assertFalse(LoraTargets.isLayerProjection("model.layers.3.lm_head"));
        assertFalse(LoraTargets.isLayerProjection("transformer.wte"));
        assertThrows(NoLoraTargetException.class, () -> LoraTargets.resolve(Graph.empty("g"), Set.of(), ""));
    }
}
