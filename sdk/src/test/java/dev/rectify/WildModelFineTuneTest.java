package dev.rectify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.adapter.MultiLoraModel;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model as ONNX Runtime GenAI's builder publishes it (float16, fused RotaryEmbedding / MultiHeadAttention /
 * SkipSimplifiedLayerNormalization, KV cache always an input) fine-tunes with LoRA from the SDK: the training graph is
 * brought to a trainable layout and lowered, the loss falls, and the adapter changes the outputs both merged and
 * served through one multi-LoRA session, which agree.
 */
class WildModelFineTuneTest {
    @Test
    void genAiLlamaTrainsALoraAdapterThatChangesItsOutputs(@TempDir Path dir) {
        assertLoraTrainsAndServes(WildModels.llama(), "Hello", " world", dir);
    }

    /**
     * ONNX Runtime's transformers optimizer writes opset 11 (Squeeze/Unsqueeze axes as attributes, fused Attention
     * with packed QKV and a stacked past): the training graph is upgraded to opset 13, lowered, and trains.
     */
    @Test
    void ortOptimizerGpt2TrainsALoraAdapterThatChangesItsOutputs(@TempDir Path dir) {
        // every GPT-2 token of these texts lies in the tiny model's 1000-token vocabulary
        assertLoraTrainsAndServes(WildModels.gpt2(), "The one and", " the two of the new time", dir);
    }

    /**
     * Full fine-tuning of both float16 exports: the trained weights are float32 master copies of the half-precision
     * base, the loss falls, and the result (rounded back into the model's float16 weights) changes the outputs.
     */
    @Test
    void fullFineTuningTrainsFloat32MasterWeightsOnBothWildModels() {
        assertFullFineTuningChangesOutputs(WildModels.gpt2(), "The one and", " the two of the new time");
        assertFullFineTuningChangesOutputs(WildModels.llama(), "Hello", " world");
    }

    private static void assertFullFineTuningChangesOutputs(Path model, String prompt, String reply) {
        List<Example> examples = Collections.nCopies(8, Example.of(prompt, reply));
        FineTuneOptions o = FineTuneOptions.builder()
                .fullFineTuning()
                .objective(Objective.SFT)
                .learningRate(1e-2)
                .maxSteps(6)
                .evalFraction(0)
                .build();
        Sampling greedy = Sampling.greedy().maxNewTokens(8);
        try (BaseModel base = BaseModel.open(model)) {
            Adapter a = Rectify.fineTune(base, examples, o, null);
            List<TrainingProgress> steps = a.result().orElseThrow().history().stream()
                    .filter(p -> p.phase() == TrainingProgress.Phase.TRAIN)
                    .toList();
            assertEquals(6, steps.size());
            assertTrue(
                    steps.get(5).loss() < steps.get(0).loss(),
                    model.getFileName() + ": the loss falls: " + steps.get(0).loss() + " -> "
                            + steps.get(5).loss());
            try (AdaptedModel m = AdaptedModel.of(base, a)) {
                assertNotEquals(
                        base.generate(prompt, greedy).text(),
                        m.generate(prompt, greedy).text(),
                        model.getFileName() + ": the fine-tuned weights change the greedy continuation");
            }
        }
    }

    private static void assertLoraTrainsAndServes(Path model, String prompt, String reply, Path dir) {
        List<Example> examples = Collections.nCopies(8, Example.of(prompt, reply));
        FineTuneOptions o = FineTuneOptions.builder()
                .objective(Objective.SFT)
                .learningRate(1e-2)
                .maxSteps(10)
                .evalFraction(0)
                .build();
        Sampling greedy = Sampling.greedy().maxNewTokens(8);
        try (BaseModel base = BaseModel.open(model)) {
            Adapter a = Rectify.fineTune(base, examples, o, null);
            TrainingResult r = a.result().orElseThrow();
            assertEquals(10, r.steps(), "ran its steps");
            List<TrainingProgress> steps = r.history().stream()
                    .filter(p -> p.phase() == TrainingProgress.Phase.TRAIN)
                    .toList();
            double first = steps.get(0).loss();
            double last = steps.get(steps.size() - 1).loss();
            assertTrue(last < first, model.getFileName() + ": the loss falls: " + first + " -> " + last);
            String before = base.generate(prompt, greedy).text();
            String merged;
            try (AdaptedModel m = AdaptedModel.of(base, a)) {
                merged = m.generate(prompt, greedy).text();
            }
            assertNotEquals(before, merged, "the adapter changes the greedy continuation");
            try (MultiLoraModel served = MultiLoraModel.builder(base)
                    .store(AdapterStore.open(dir.resolve("store")))
                    .graphCache(dir.resolve("graphs"))
                    .build()) {
                String id = served.register(a);
                assertEquals(
                        merged,
                        served.generate(id, prompt, greedy).text(),
                        "multi-LoRA serving equals the merged model");
                assertEquals(before, served.generate(null, prompt, greedy).text(), "a base request stays the base");
            }
        }
    }
}
