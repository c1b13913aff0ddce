package dev.rectify.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RectifyCliTest {
    private static final String MODEL = System.getProperty("rectify.test.model", "../models/rectify-tiny");

    private record Run(int code, String out, String err) { }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = RectifyCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void generateStreamsAndIsReproducibleWithASeed() {
        Run a = run("generate", "--model", MODEL, "--prompt", "Seven is", "--max-new-tokens", "12", "--temperature", "0.8", "--seed", "5");
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

    @Test
    void finetuneTakesLoraTargets(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("d.jsonl");
        java.nio.file.Files.writeString(data, "{\"prompt\": \"2+2=\", \"completion\": \"4\"}\n".repeat(4));
        Run bad = run("finetune", "--model", MODEL, "--lora-targets", "c_attn,no_such_proj", "--max-steps", "1",
                "--out", dir.resolve("a").toString(), data.toString());
        assertEquals(1, bad.code(), bad.out());
        assertTrue(bad.err().contains("no_such_proj") && bad.err().contains("q_proj"), "the named targets were used: " + bad.err());
        Run both = run("finetune", "--model", MODEL, "--full", "--lora-targets", "q_proj", data.toString());
        assertEquals(1, both.code());
        assertTrue(both.err().contains("lora_targets") || both.err().contains("--lora-targets"), both.err());
        assertTrue(run("finetune", "--help").out().contains("--lora-targets"));
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
            lines.add("{\"prompt\": \"What is " + a + " + 3?\", \"completion\": \" " + a + " + 3 = " + (a + 3) + ".\"}");
        }
        Path data = Files.write(dir.resolve("d.jsonl"), lines);
        Path adapter = dir.resolve("adapter");
        Run ft = run("finetune", data.toString(), "--model", MODEL, "--max-steps", "2", "--lora-rank", "4", "--out", adapter.toString());
        assertEquals(0, ft.code(), ft.err());
        for (String format : List.of("peft", "onnx-adapter", "merged")) {
            Run ex = run("export", adapter.toString(), "--format", format, "--model", MODEL, "--out", dir.resolve(format).toString());
            assertEquals(0, ex.code(), ex.err());
            assertTrue(ex.out().contains("exported as " + format), ex.out());
        }
        assertTrue(Files.isRegularFile(dir.resolve("peft/adapter_config.json")));
        assertTrue(Files.isRegularFile(dir.resolve("onnx-adapter/adapter.onnx_adapter")));
        Run viaAdapter = run("generate", "--model", MODEL, "--adapter", adapter.toString(), "--prompt", "What is 4 + 3?", "-n", "8");
        Run viaMerged = run("generate", "--model", dir.resolve("merged").toString(), "--prompt", "What is 4 + 3?", "-n", "8");
        assertEquals(0, viaAdapter.code(), viaAdapter.err());
        assertEquals(viaAdapter.out(), viaMerged.out(), "the merged export generates what base + adapter generate");
        Run bad = run("export", adapter.toString(), "--format", "gguf", "--model", MODEL, "--out", dir.resolve("x").toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("peft, onnx-adapter or merged"), bad.err());
        Run missing = run("export", "0123456789abcdef", "--format", "peft", "--model", MODEL, "--out", dir.resolve("y").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("no adapter with that id"), missing.err());
    }
}
