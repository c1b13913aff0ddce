package dev.rectify;

import java.nio.file.Path;

/**
 * The ONNX models exported by other people's tools, in the project's shared folder ({@code shared/models/wild},
 * beside the clone; see its README): {@code gpt2-ort-fp16} (ONNX Runtime transformers optimizer) and
 * {@code llama-genai-fp16} (ONNX Runtime GenAI model builder). Override the folder with {@code -Drectify.test.wild}.
 */
public final class WildModels {
    private WildModels() {}

    /** The folder holding the wild models. */
    public static Path dir() {
        return Path.of(System.getProperty("rectify.test.wild", "../../shared/models/wild"))
                .toAbsolutePath()
                .normalize();
    }

    /** ONNX Runtime transformers optimizer's GPT-2: int32 inputs, stacked float16 KV cache, graph {@code past.onnx}. */
    public static Path gpt2() {
        return dir().resolve("gpt2-ort-fp16");
    }

    /** ONNX Runtime GenAI's Llama: float16, KV cache always an input, {@code genai_config.json}. */
    public static Path llama() {
        return dir().resolve("llama-genai-fp16");
    }
}
