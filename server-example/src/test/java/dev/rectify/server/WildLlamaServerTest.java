package dev.rectify.server;

import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import org.junit.jupiter.api.TestInstance;

/** {@link WildModelServerCase} on ONNX Runtime GenAI's Llama. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WildLlamaServerTest extends WildModelServerCase {
    @Override
    String folder() {
        return "llama-genai-fp16";
    }

    @Override
    String prompt() {
        return "Hello";
    }

    @Override
    String reply() {
        return " world";
    }
}
