package dev.rectify.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.core.ChatMessage;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rectify generate} on the published exports in shared/models/wild (see its README): ONNX Runtime's optimized
 * GPT-2 and GenAI's Llama (with {@code --chat}); the CLI prints what the SDK generates.
 */
class WildModelsCliTest {
    private static final Path WILD = Path.of(System.getProperty("rectify.test.wild", "../../shared/models/wild"))
            .toAbsolutePath()
            .normalize();
    private static final Path GPT2 = WILD.resolve("gpt2-ort-fp16");
    private static final Path LLAMA = WILD.resolve("llama-genai-fp16");
    /** Its GPT-2 tokens all lie in the tiny model's 1000-token vocabulary. */
    private static final String GPT2_PROMPT = "The one and the two of the";

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = RectifyCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void generateWithOrtOptimizedGpt2() {
        Run a = run("generate", "--model", GPT2.toString(), "--prompt", GPT2_PROMPT, "-n", "12", "--stats");
        assertEquals(0, a.code(), a.err());
        assertTrue(a.err().contains("new tokens"), a.err());
        try (BaseModel m = BaseModel.open(GPT2, Device.cpu(1))) {
            assertEquals(
                    m.generate(GPT2_PROMPT, Sampling.greedy().maxNewTokens(12)).text() + System.lineSeparator(),
                    a.out());
        }
        Run sampled = run(
                "generate", "--model", GPT2.toString(), "--prompt", GPT2_PROMPT, "-n", "12", "-t", "0.9", "-s", "3");
        Run again = run(
                "generate", "--model", GPT2.toString(), "--prompt", GPT2_PROMPT, "-n", "12", "-t", "0.9", "-s", "3");
        assertEquals(0, sampled.code(), sampled.err());
        assertEquals(sampled.out(), again.out());
        Run outside = run("generate", "--model", GPT2.toString(), "--prompt", "Photosynthesis");
        assertEquals(1, outside.code());
        assertTrue(
                outside.err().startsWith("rectify: error: ") && outside.err().contains("vocabulary of 1000"),
                outside.err());
    }

    @Test
    void chatWithGenaiLlama() {
        Run a = run(
                "generate",
                "--chat",
                "--model",
                LLAMA.toString(),
                "--prompt",
                "What is two plus two?",
                "-n",
                "10",
                "--stats");
        assertEquals(0, a.code(), a.err());
        assertTrue(a.err().contains("new tokens"), a.err());
        try (BaseModel m = BaseModel.open(LLAMA, Device.cpu(1))) {
            String expected = m.chat(
                            List.of(ChatMessage.user("What is two plus two?")),
                            Sampling.greedy().maxNewTokens(10),
                            t -> {})
                    .text();
            assertEquals(expected + System.lineSeparator(), a.out());
        }
        Run raw = run("generate", "--model", LLAMA.toString(), "--prompt", "Once upon a time", "-n", "6");
        assertEquals(0, raw.code(), raw.err());
    }

    /**
     * {@code rectify finetune} trains a LoRA adapter on each published export (the GPT-2 is an opset-11 graph the
     * training graph upgrades to 13) and {@code rectify generate --adapter} serves it: the continuation changes, and
     * is the SDK's merged model's.
     */
    @Test
    void finetuneAndGenerateWithTheAdapterOnBothWildModels(@TempDir Path dir) throws Exception {
        assertFinetuneChangesGeneration(GPT2, GPT2_PROMPT, " new time, which was in the", dir.resolve("gpt2"));
        assertFinetuneChangesGeneration(LLAMA, "Hello", " world", dir.resolve("llama"));
    }

    private static void assertFinetuneChangesGeneration(Path model, String prompt, String reply, Path dir)
            throws Exception {
        Files.createDirectories(dir);
        String line = "{\"prompt\": \"" + prompt + "\", \"completion\": \"" + reply + "\"}";
        Path data = Files.write(dir.resolve("d.jsonl"), Collections.nCopies(8, line));
        Path adapter = dir.resolve("adapter");
        Run ft = run(
                "finetune",
                data.toString(),
                "--model",
                model.toString(),
                "--objective",
                "sft",
                "--max-steps",
                "10",
                "--learning-rate",
                "1e-2",
                "--eval-fraction",
                "0",
                "--out",
                adapter.toString(),
                "--device",
                "cpu:1");
        assertEquals(0, ft.code(), ft.err());
        Run base = run("generate", "--model", model.toString(), "--prompt", prompt, "-n", "8");
        Run tuned = run(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                adapter.toString(),
                "--prompt",
                prompt,
                "-n",
                "8");
        assertEquals(0, tuned.code(), tuned.err());
        assertNotEquals(base.out(), tuned.out(), model.getFileName() + ": the adapter changes the continuation");
        try (BaseModel m = BaseModel.open(model, Device.cpu(1));
                AdaptedModel merged = AdaptedModel.of(m, AdapterFiles.read(adapter, null))) {
            assertEquals(
                    merged.generate(prompt, Sampling.greedy().maxNewTokens(8)).text() + System.lineSeparator(),
                    tuned.out());
        }
    }

    @Test
    void generationConfigGivesTheDefaults(@TempDir Path dir) throws Exception {
        try (Stream<Path> files = Files.list(GPT2)) {
            for (Path f : files.toList()) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        Files.writeString(
                dir.resolve("generation_config.json"),
                "{\"do_sample\": true, \"temperature\": 1.5, \"top_k\": 100, \"max_new_tokens\": 5}");
        Run a = run("generate", "--model", dir.toString(), "--prompt", GPT2_PROMPT, "--seed", "4", "--stats");
        assertEquals(0, a.code(), a.err());
        try (BaseModel m = BaseModel.open(dir, Device.cpu(1))) {
            Sampling defaults = m.defaultSampling();
            assertEquals(1.5, defaults.temperature());
            assertEquals(100, defaults.topK());
            String sampled = m.generate(GPT2_PROMPT, defaults.seed(4)).text();
            assertEquals(sampled + System.lineSeparator(), a.out());
            assertFalse(
                    sampled.equals(m.generate(GPT2_PROMPT, Sampling.greedy().maxNewTokens(5))
                            .text()),
                    "the defaults sampled, not greedy");
            assertTrue(
                    a.err().contains(m.generate(GPT2_PROMPT, defaults.seed(4)).completionTokens() + " new tokens"),
                    a.err());
        }
        // an explicit option wins over the file
        Run greedy = run("generate", "--model", dir.toString(), "--prompt", GPT2_PROMPT, "-t", "0", "-n", "5");
        try (BaseModel m = BaseModel.open(dir, Device.cpu(1))) {
            assertEquals(
                    m.generate(GPT2_PROMPT, Sampling.greedy().maxNewTokens(5)).text() + System.lineSeparator(),
                    greedy.out());
        }
    }
}
