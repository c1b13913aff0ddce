package dev.rectify.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RectifyCliTest {
    private static final String MODEL = System.getProperty("rectify.test.model", "../models/rectify-tiny");

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = RectifyCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void generateStreamsAndIsReproducibleWithASeed() {
        Run a = run(
                "generate",
                "--model",
                MODEL,
                "--prompt",
                "Seven is",
                "--max-new-tokens",
                "12",
                "--temperature",
                "0.8",
                "--seed",
                "5");
        assertEquals(0, a.code(), a.err());
        assertFalse(a.out().isBlank());
        Run b = run("generate", "--model", MODEL, "--prompt", "Seven is", "-n", "12", "-t", "0.8", "-s", "5");
        assertEquals(a.out(), b.out());
    }

    @Test
    void helpOnEveryCommand() {
        Run top = run("--help");
        assertEquals(0, top.code());
        assertTrue(top.out().contains("generate"), top.out());
        Run gen = run("generate", "--help");
        assertEquals(0, gen.code());
        assertTrue(gen.out().contains("--max-new-tokens") && gen.out().contains("--temperature"), gen.out());
    }

    /** A JSONL file of four identical prompt/completion examples in {@code dir}. */
    private static Path fourExamples(Path dir) throws IOException {
        Path data = dir.resolve("d.jsonl");
        Files.writeString(data, "{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n".repeat(4));
        return data;
    }

    @Test
    void finetuneTakesLoraTargets(@TempDir Path dir) throws Exception {
        Path data = fourExamples(dir);
        Run bad = run(
                "finetune",
                "--model",
                MODEL,
                "--lora-targets",
                "c_attn,no_such_proj",
                "--max-steps",
                "1",
                "--out",
                dir.resolve("a").toString(),
                data.toString());
        assertEquals(1, bad.code(), bad.out());
        assertTrue(
                bad.err().contains("no_such_proj") && bad.err().contains("q_proj"),
                "the named targets were used: " + bad.err());
        Run both = run("finetune", "--model", MODEL, "--full", "--lora-targets", "q_proj", data.toString());
        assertEquals(1, both.code());
        assertTrue(both.err().contains("lora_targets") || both.err().contains("--lora-targets"), both.err());
        assertTrue(run("finetune", "--help").out().contains("--lora-targets"));
    }

    @Test
    void finetuneTakesTheMemoryOptions(@TempDir Path dir) throws Exception {
        Path data = fourExamples(dir);
        Run selective = run(
                "finetune",
                "--model",
                MODEL,
                "--checkpointing",
                "selective",
                "--loss-chunks",
                "2",
                "--max-steps",
                "1",
                "--out",
                dir.resolve("a").toString(),
                data.toString());
        assertEquals(0, selective.code(), selective.err());
        assertTrue(Files.exists(dir.resolve("a").resolve("adapter_model.safetensors")), selective.out());
        Run bad = run("finetune", "--model", MODEL, "--checkpointing", "sometimes", data.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("none, layers or selective"), bad.err());
        assertTrue(run("finetune", "--help").out().contains("--checkpointing"));
    }

    @Test
    void errorsAreOneClearLineAndNonZero(@TempDir Path empty) {
        Run missing = run("generate", "--model", empty.toString(), "--prompt", "hi");
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("rectify: error: ") && missing.err().contains("model.onnx"), missing.err());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        Run badTemp = run("generate", "--model", MODEL, "--prompt", "hi", "--temperature", "-1");
        assertEquals(1, badTemp.code());
        assertTrue(badTemp.err().contains("temperature"), badTemp.err());
        Run usage = run("generate", "--max-new-tokens", "x");
        assertEquals(2, usage.code());
        Run verbose = run("generate", "--model", empty.toString(), "--prompt", "hi", "--verbose");
        assertTrue(verbose.err().contains("at dev.rectify"), "stack trace with --verbose");
    }

    @Test
    void versionNamesRectifyOnnxRuntimeAndDjl() {
        Run v = run("--version");
        assertEquals(0, v.code(), v.err());
        assertTrue(v.out().contains("rectify "), v.out());
        assertTrue(v.out().matches("(?s).*ONNX Runtime 1\\.\\d+\\.\\d+ \\(linux-x86_64\\).*"), v.out());
        assertTrue(v.out().matches("(?s).*DJL tokenizers 0\\.\\d+\\.\\d+.*"), v.out());
    }

    @Test
    void theDemoDataShipsInTheJar() throws Exception {
        Path dir = DemoData.math();
        for (String f : DemoData.FILES) {
            assertEquals(Files.readString(Path.of("..", "data", "math", f)), Files.readString(dir.resolve(f)), f);
        }
        assertEquals(dir, DemoData.math(), "unpacked once, found again");
    }

    @Test
    void finetuneExportAndGenerateWithTheExports(@TempDir Path dir) throws Exception {
        List<String> lines = new ArrayList<>();
        for (int a = 2; a < 10; a++) {
            lines.add(
                    "{\"prompt\": \"What is " + a + " + 3?\", \"completion\": \" " + a + " + 3 = " + (a + 3) + ".\"}");
        }
        Path data = Files.write(dir.resolve("d.jsonl"), lines);
        Path adapter = dir.resolve("adapter");
        Run ft = run(
                "finetune",
                data.toString(),
                "--model",
                MODEL,
                "--max-steps",
                "2",
                "--lora-rank",
                "4",
                "--out",
                adapter.toString());
        assertEquals(0, ft.code(), ft.err());
        for (String format : List.of("peft", "onnx-adapter", "merged")) {
            Run ex = run(
                    "export",
                    adapter.toString(),
                    "--format",
                    format,
                    "--model",
                    MODEL,
                    "--out",
                    dir.resolve(format).toString());
            assertEquals(0, ex.code(), ex.err());
            assertTrue(ex.out().contains("exported as " + format), ex.out());
        }
        assertTrue(Files.isRegularFile(dir.resolve("peft/adapter_config.json")));
        assertTrue(Files.isRegularFile(dir.resolve("onnx-adapter/adapter.onnx_adapter")));
        Run viaAdapter = run(
                "generate", "--model", MODEL, "--adapter", adapter.toString(), "--prompt", "What is 4 + 3?", "-n", "8");
        Run viaMerged =
                run("generate", "--model", dir.resolve("merged").toString(), "--prompt", "What is 4 + 3?", "-n", "8");
        assertEquals(0, viaAdapter.code(), viaAdapter.err());
        assertEquals(viaAdapter.out(), viaMerged.out(), "the merged export generates what base + adapter generate");
        Run bad = run(
                "export",
                adapter.toString(),
                "--format",
                "gguf",
                "--model",
                MODEL,
                "--out",
                dir.resolve("x").toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("peft, onnx-adapter or merged"), bad.err());
        Run missing = run(
                "export",
                "0123456789abcdef",
                "--format",
                "peft",
                "--model",
                MODEL,
                "--out",
                dir.resolve("y").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no adapter with that id"), missing.err());
    }

    @Test
    void finetuneTakesTheManifestOptionsAndWritesTrainerStateAndPlots(@TempDir Path dir) throws Exception {
        List<String> lines = new ArrayList<>();
        for (int a = 2; a < 10; a++) {
            lines.add(
                    "{\"prompt\": \"What is " + a + " + 4?\", \"completion\": \" " + a + " + 4 = " + (a + 4) + ".\"}");
        }
        Path data = Files.write(dir.resolve("d.jsonl"), lines);
        Path eval = Files.write(dir.resolve("e.jsonl"), lines.subList(0, 2));
        Path out = dir.resolve("adapter");
        Run ft = run(
                "finetune",
                data.toString(),
                "--model",
                MODEL,
                "--max-steps",
                "4",
                "--lora-rank",
                "4",
                "--lora-targets",
                "q_proj,v_proj",
                "--lora-dropout",
                "0.1",
                "--warmup-ratio",
                "0.5",
                "--lr-scheduler-type",
                "linear",
                "--learning-rate",
                "1e-3",
                "--weight-decay",
                "0.05",
                "--max-grad-norm",
                "0.5",
                "--eval-steps",
                "2",
                "--patience",
                "5",
                "--batch-size",
                "4",
                "--micro-batch-size",
                "2",
                "--eval-data",
                eval.toString(),
                "--run-dir",
                dir.resolve("run").toString(),
                "--out",
                out.toString()); // own run folder: always trains
        assertEquals(0, ft.code(), ft.err());
        JsonNode config =
                new ObjectMapper().readTree(out.resolve("adapter_config.json").toFile());
        assertEquals(0.1, config.get("lora_dropout").asDouble());
        assertEquals(
                List.of("q_proj", "v_proj"),
                List.of(
                        config.get("target_modules").get(0).asText(),
                        config.get("target_modules").get(1).asText()));
        JsonNode state =
                new ObjectMapper().readTree(out.resolve("trainer_state.json").toFile());
        assertEquals(4, state.get("global_step").asInt());
        assertEquals(4, state.get("max_steps").asInt());
        assertEquals(4, state.get("train_batch_size").asInt());
        assertEquals(2.0, state.get("epoch").asDouble(), "8 examples in batches of 4: 2 steps an epoch");
        List<JsonNode> train = new ArrayList<>();
        List<JsonNode> evals = new ArrayList<>();
        state.get("log_history")
                .forEach(e -> (e.has("loss") ? train : e.has("eval_loss") ? evals : new ArrayList<JsonNode>()).add(e));
        assertEquals(4, train.size());
        // Hugging Face's linear schedule, warmup ceil(0.5 x 4) = 2: 0, lr/2, lr, lr/2 on steps 1..4
        double[] lr = {0, 5e-4, 1e-3, 5e-4};
        for (int i = 0; i < 4; i++) {
            JsonNode e = train.get(i);
            assertEquals(i + 1, e.get("step").asInt());
            assertEquals((i + 1) / 2.0, e.get("epoch").asDouble(), 1e-9);
            assertEquals(lr[i], e.get("learning_rate").asDouble(), 1e-12, "step " + (i + 1));
            assertTrue(e.get("loss").asDouble() > 0 && e.get("grad_norm").asDouble() > 0, e.toString());
        }
        // before training, at step 2 (eval every 2 steps) and at the end
        assertEquals(
                List.of(0, 2, 4), evals.stream().map(e -> e.get("step").asInt()).toList());
        evals.forEach(e -> assertTrue(e.get("eval_loss").asDouble() > 0, e.toString()));
        JsonNode last = state.get("log_history").get(state.get("log_history").size() - 1);
        assertTrue(last.has("train_loss") && last.has("train_runtime"), last.toString());
        for (String png : List.of("training_objective.png", "training_nll.png", "learning_rate.png")) {
            BufferedImage img = ImageIO.read(out.resolve(png).toFile());
            assertTrue(img != null && img.getWidth() > 100, png);
        }
        assertTrue(run("finetune", "--help").out().contains("constant_with_warmup"));
    }
}
