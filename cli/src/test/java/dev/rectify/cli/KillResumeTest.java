package dev.rectify.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fine-tune killed with SIGKILL mid-run and resumed ends with exactly the weights of an uninterrupted run. */
class KillResumeTest {
    private static final String MODEL = System.getProperty("rectify.test.model", "../models/rectify-tiny");

    private static List<String> args(Path data, Path runDir, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(
                "finetune",
                "--data",
                data.toString(),
                "--model",
                MODEL,
                "--max-steps",
                "6",
                "--lora-rank",
                "4",
                "--batch-size",
                "4",
                "--micro-batch-size",
                "2",
                "--max-seq-length",
                "96",
                "--eval-fraction",
                "0",
                "--learning-rate",
                "1e-3",
                "--seed",
                "7",
                "--run-dir",
                runDir.toString(),
                "--out",
                out.toString(),
                "--device",
                "cpu:1"));
        a.addAll(List.of(extra));
        return a;
    }

    private static int runInProcess(List<String> args) {
        StringWriter err = new StringWriter();
        int code =
                RectifyCli.run(args.toArray(new String[0]), new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(0, code, err.toString());
        return code;
    }

    @Test
    void killedAndResumedEqualsUninterrupted(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("train.jsonl");
        List<String> lines = Files.readAllLines(
                Path.of(MODEL).resolve("../../data/math/train.jsonl").normalize());
        Files.write(data, lines.subList(0, 12));

        runInProcess(args(data, dir.resolve("run-a"), dir.resolve("out-a")));

        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true",
                "-Drectify.home=" + System.getProperty("rectify.home"),
                "-cp",
                System.getProperty("java.class.path"),
                RectifyCli.class.getName()));
        cmd.addAll(args(data, dir.resolve("run-b"), dir.resolve("out-b"), "--checkpoint-every", "1"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean sawStep3 = false;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("step 3/6")) {
                    sawStep3 = true;
                    p.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
                    break;
                }
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(sawStep3, "the child process reached step 3");
        assertTrue(!Files.exists(dir.resolve("out-b")), "the killed run wrote no adapter");
        assertTrue(Files.exists(dir.resolve("run-b").resolve("latest")), "a checkpoint survived the kill");

        runInProcess(args(data, dir.resolve("run-b"), dir.resolve("out-b"), "--checkpoint-every", "1", "--resume"));
        byte[] a = Files.readAllBytes(dir.resolve("out-a/adapter_model.safetensors"));
        byte[] b = Files.readAllBytes(dir.resolve("out-b/adapter_model.safetensors"));
        assertArrayEquals(a, b, "resumed weights equal uninterrupted weights");
    }
}
