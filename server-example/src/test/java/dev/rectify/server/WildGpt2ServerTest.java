package dev.rectify.server;

import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import org.junit.jupiter.api.TestInstance;

/** {@link WildModelServerCase} on ONNX Runtime's transformers-optimizer GPT-2 (its GPT-2 tokens all lie in the tiny model's 1000-token vocabulary). */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WildGpt2ServerTest extends WildModelServerCase {
    @Override
    String folder() {
        return "gpt2-ort-fp16";
    }

    @Override
    String prompt() {
        return "The one and the two of the";
    }

    @Override
    String reply() {
        return " new time, which was in the";
    }
}
