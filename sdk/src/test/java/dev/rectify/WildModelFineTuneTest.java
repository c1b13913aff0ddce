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
        List<Example> examples = Collections.nCopies(8, Example.of("Hello", " world"));
        FineTuneOptions o = FineTuneOptions.builder().objective(Objective.SFT).learningRate(1e-2).maxSteps(10)
                .evalFraction(0).build();
        Sampling greedy = Sampling.greedy().maxNewTokens(8);
        try (BaseModel base = BaseModel.open(WildModels.llama())) {
            Adapter a = Rectify.fineTune(base, examples, o, null);
            assertTrue(a.result().orElseThrow().steps() == 10, "ran its steps");
            String before = base.generate("Hello", greedy).text();
            String merged;
            try (AdaptedModel m = AdaptedModel.of(base, a)) {
                merged = m.generate("Hello", greedy).text();
            }
            assertNotEquals(before, merged, "the adapter changes the greedy continuation");
            try (MultiLoraModel served = MultiLoraModel.builder(base).store(AdapterStore.open(dir.resolve("store")))
                    .graphCache(dir.resolve("graphs")).build()) {
                String id = served.register(a);
                assertEquals(merged, served.generate(id, "Hello", greedy).text(), "multi-LoRA serving equals the merged model");
                assertEquals(before, served.generate(null, "Hello", greedy).text(), "a base request stays the base");
            }
        }
    }
}
