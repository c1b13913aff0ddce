package dev.rectify.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
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
        assertTrue(both.err().contains("--lora-targets"), both.err());
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
}
