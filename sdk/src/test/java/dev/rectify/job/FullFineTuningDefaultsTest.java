package dev.rectify.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.rectify.TestModels;
import dev.rectify.lora.LoraTargets;
import dev.rectify.ort.Device;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainingPlan;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The SDK's (and so the CLI's and batch manifests') defaults for full fine-tuning and LoRA targets. */
class FullFineTuningDefaultsTest {
    @Test
    void fullFineTuningDefaultsToRank2WeightsNotEveryTensor() {
        FineTuneOptions o = FineTuneOptions.builder().fullFineTuning().build();
        assertNull(o.fullFineTuningPattern(), "no '.*': that also matched norms, biases and buffers");
        TrainingPlan plan = TrainingSetup.plan(o, Device.cpu(1));
        assertEquals(TrainingPlan.Mode.FULL, plan.mode());
        assertNull(plan.fullFineTuningPattern(), "the plan selects float weights of rank >= 2");
        assertEquals("x", FineTuneOptions.builder().fullFineTuning("x").build().fullFineTuningPattern());
    }

    @Test
    void loraTargetsDefaultToAllLinearResolvedOnTheGraph() {
        FineTuneOptions o = FineTuneOptions.builder().build();
        assertEquals(Set.of(LoraTargets.ALL_LINEAR), o.loraTargets());
        Set<String> t = TrainingSetup.loraTargets(TestModels.tinyDir().resolve("model.onnx"), "", o.loraTargets());
        assertEquals(Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), t);
        assertEquals(
                Set.of("q_proj"),
                TrainingSetup.loraTargets(TestModels.tinyDir().resolve("model.onnx"), "llama", Set.of("q_proj")),
                "named targets are used as given");
    }
}
