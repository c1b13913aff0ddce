package dev.rectify.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rectify batch}: a batch killed with SIGKILL mid-job and restarted ends with the adapters of an uninterrupted
 * run; a job with bad data fails alone; a bad manifest is one clear line and writes nothing.
 */
class BatchCommandTest {
    private static final String MODEL = System.getProperty("rectify.test.model", "../models/rectify-tiny");
    private static final String TINY = "\"epochs\": 1, \"max_steps\": 4, \"lora_rank\": 4, \"learning_rate\": 1e-3, "
            + "\"batch_size\": 4, \"micro_batch_size\": 2, \"max_seq_length\": 96";

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = RectifyCli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    private static List<String> batchArgs(Path manifest, Path out, String... extra) {
        List<String> a = new ArrayList<>(
                List.of("batch", manifest.toString(), "--out", out.toString(), "--model", MODEL, "--device", "cpu:1"));
        a.addAll(List.of(extra));
        return a;
    }

    /** Three data files of 12 demonstrations, a held-out file of 4, under {@code dir/data}. */
    private static void writeData(Path dir) throws Exception {
        List<String> train = Files.readAllLines(
                Path.of(MODEL).resolve("../../data/math/train.jsonl").normalize());
        List<String> held = Files.readAllLines(
                Path.of(MODEL).resolve("../../data/math/heldout.jsonl").normalize());
        Files.createDirectories(dir.resolve("data"));
        Files.write(dir.resolve("data/a.jsonl"), train.subList(0, 12));
        Files.write(dir.resolve("data/b.jsonl"), train.subList(12, 24));
        Files.write(dir.resolve("data/c.jsonl"), train.subList(24, 36));
        Files.write(dir.resolve("data/held.jsonl"), held.subList(0, 4));
    }

    private static String line(String name, String data, String objective, String extraOptions, String output) {
        return "{\"name\": \"" + name + "\", \"data\": \"" + data + "\", \"objective\": \"" + objective
                + "\", \"options\": {" + TINY + extraOptions + "}"
                + (output == null ? "" : ", \"output\": \"" + output + "\"") + "}";
    }

    private static String summaryLine(String stdout, String job) {
        return stdout.lines()
                .filter(l -> l.startsWith(job + " "))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no summary line for " + job + " in:\n" + stdout));
    }

    /** Equal tensor data bytes and equal headers (as JSON, key order aside). */
    private static void assertSameSafetensors(Path x, Path y) throws Exception {
        byte[] a = Files.readAllBytes(x);
        byte[] b = Files.readAllBytes(y);
        if (Arrays.equals(a, b)) {
            return;
        }
        long ha = ByteBuffer.wrap(a, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        long hb = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(ha, hb, x + ": header sizes differ");
        ObjectMapper json = new ObjectMapper();
        assertEquals(
                json.readTree(new String(a, 8, (int) ha, StandardCharsets.UTF_8)),
                json.readTree(new String(b, 8, (int) hb, StandardCharsets.UTF_8)),
                x + ": headers differ");
        assertArrayEquals(
                Arrays.copyOfRange(a, 8 + (int) ha, a.length),
                Arrays.copyOfRange(b, 8 + (int) hb, b.length),
                x + ": the tensors differ from " + y);
    }

    @Test
    void killedMidJobAndRestartedEndsWithTheAdaptersOfAnUninterruptedRun(@TempDir Path dir) throws Exception {
        writeData(dir);
        Path manifest = dir.resolve("jobs.jsonl");
        // job-b is SFT, whose gradient norm here (about 1.7) exceeds the clipping limit of 1: clipped runs repeat bit
        // for bit too (the optimizer model's norm does not depend on ORT's parameter order)
        Files.write(
                manifest,
                List.of(
                        line(
                                "job-a",
                                "data/a.jsonl",
                                "dft",
                                ", \"seed\": 7, \"eval_data\": \"data/held.jsonl\"",
                                "adapters/a"),
                        line("job-b", "data/b.jsonl", "sft", ", \"seed\": 7, \"eval_data\": \"data/held.jsonl\"", null),
                        "",
                        line("job-c", "data/c.jsonl", "dft", ", \"seed\": 8, \"eval_fraction\": 0", null)));
        List<String> adapters = List.of("adapters/a", "adapters/job-b", "adapters/job-c");

        // uninterrupted, two jobs at a time
        Path a = dir.resolve("uninterrupted");
        Run first = run(batchArgs(manifest, a, "--parallel", "2").toArray(new String[0]));
        assertEquals(0, first.code(), first.err() + first.out());
        for (String job : List.of("job-a", "job-b", "job-c")) {
            assertTrue(summaryLine(first.out(), job).contains(" done "), first.out());
        }
        assertTrue(
                summaryLine(first.out(), "job-a").matches(".*\\d\\.\\d{4} -> \\d\\.\\d{4}.*"), "NLL before -> after");
        assertFalse(Files.exists(a.resolve("runs/job-a")), "finished jobs leave no checkpoints");

        // the same manifest in a child JVM, one job at a time, killed with SIGKILL in the middle of job-b
        Path b = dir.resolve("interrupted");
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dai.djl.offline=true",
                "-Drectify.home=" + System.getProperty("rectify.home"),
                "-cp",
                System.getProperty("java.class.path"),
                RectifyCli.class.getName()));
        cmd.addAll(batchArgs(manifest, b, "--parallel", "1"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean killed = false;
        StringBuilder log = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                log.append(l).append('\n');
                if (l.startsWith("[job-b] step 2/4")) { // step 1 of job-b is checkpointed before step 2 runs
                    p.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
                    killed = true;
                    break;
                }
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(killed, "the child reached step 2 of job-b:\n" + log);
        assertTrue(
                Files.exists(b.resolve("adapters/a").resolve(BatchCommand.RECORD)), "job-a finished before the kill");
        assertFalse(Files.exists(b.resolve("adapters/job-b")), "the killed job wrote no adapter");
        assertTrue(Files.exists(b.resolve("runs/job-b/latest")), "job-b's checkpoint survived the kill");
        assertFalse(Files.exists(b.resolve("adapters/job-c")), "job-c had not started");

        // restarted in-process: job-a skipped, job-b resumed from its checkpoint, job-c trained
        Run second = run(batchArgs(manifest, b, "--parallel", "2").toArray(new String[0]));
        assertEquals(0, second.code(), second.err() + second.out());
        assertTrue(summaryLine(second.out(), "job-a").contains(" skipped "), second.out());
        assertTrue(
                Pattern.compile(" done +4 \\(resumed at [123]\\) ")
                        .matcher(summaryLine(second.out(), "job-b"))
                        .find(),
                second.out());
        assertTrue(
                Pattern.compile(" done +4 ")
                        .matcher(summaryLine(second.out(), "job-c"))
                        .find(),
                second.out());
        assertTrue(second.out().contains("3 jobs: 2 done, 1 skipped (already done), 0 failed"), second.out());
        assertTrue(second.err().contains("[job-b] resuming from the checkpoint of step"), second.err());
        JsonNode summary =
                new ObjectMapper().readTree(b.resolve("jobs.summary.json").toFile());
        assertEquals("skipped", summary.get(0).get("status").asText());
        assertEquals("done", summary.get(1).get("status").asText());
        assertTrue(summary.get(1).has("resumed_at_step"), summary.toString());
        // job-b (resumed) and job-c were written by this JVM in both batches: the files are byte for byte the same
        for (String adapter : List.of("adapters/job-b", "adapters/job-c")) {
            assertArrayEquals(
                    Files.readAllBytes(a.resolve(adapter).resolve("adapter_model.safetensors")),
                    Files.readAllBytes(b.resolve(adapter).resolve("adapter_model.safetensors")),
                    adapter + ": the interrupted batch ends with the weights of the uninterrupted one");
        }
        // job-a was written by the killed child JVM: same tensor bytes, same header (whose __metadata__ key order
        // follows Map.of's per-JVM iteration order in Safetensors.toBytes)
        for (String adapter : adapters) {
            assertSameSafetensors(
                    a.resolve(adapter).resolve("adapter_model.safetensors"),
                    b.resolve(adapter).resolve("adapter_model.safetensors"));
        }

        // run again: everything is done; change one job's data: only that job trains again
        Run third = run(batchArgs(manifest, a).toArray(new String[0]));
        assertEquals(0, third.code(), third.err());
        assertTrue(third.out().contains("3 jobs: 0 done, 3 skipped (already done), 0 failed"), third.out());
        List<String> c = Files.readAllLines(dir.resolve("data/c.jsonl"));
        Files.write(dir.resolve("data/c.jsonl"), c.subList(1, c.size()));
        Run fourth = run(batchArgs(manifest, a).toArray(new String[0]));
        assertEquals(0, fourth.code(), fourth.err());
        assertTrue(summaryLine(fourth.out(), "job-a").contains(" skipped "), fourth.out());
        assertTrue(summaryLine(fourth.out(), "job-b").contains(" skipped "), fourth.out());
        assertTrue(summaryLine(fourth.out(), "job-c").contains(" done "), fourth.out());
    }

    @Test
    void aJobWithBadDataFailsAloneAndTheExitCodeSaysSo(@TempDir Path dir) throws Exception {
        writeData(dir);
        List<String> bad = new ArrayList<>(Files.readAllLines(dir.resolve("data/b.jsonl")));
        bad.set(2, "{\"prompt\": \"What is 2 + 2?\", \"completion\": ");
        Files.write(dir.resolve("data/bad.jsonl"), bad);
        Path manifest = dir.resolve("nightly.jsonl");
        Files.write(
                manifest,
                List.of(
                        line("good-1", "data/a.jsonl", "dft", ", \"max_steps\": 2, \"eval_fraction\": 0", null)
                                .replace("\"max_steps\": 4, ", ""),
                        line("broken", "data/bad.jsonl", "dft", "", null),
                        line("missing", "data/nope.jsonl", "sft", "", null),
                        line("good-2", "data/c.jsonl", "sft", ", \"max_steps\": 2, \"eval_fraction\": 0", null)
                                .replace("\"max_steps\": 4, ", "")));
        Path out = dir.resolve("out");
        Run r = run(batchArgs(manifest, out, "--parallel", "2").toArray(new String[0]));
        assertEquals(BatchCommand.EXIT_JOBS_FAILED, r.code(), r.err() + r.out());
        String badFile = dir.resolve("data/bad.jsonl").toString();
        assertTrue(summaryLine(r.out(), "broken").contains(" failed "), r.out());
        assertTrue(summaryLine(r.out(), "broken").contains(badFile + ":3: not valid JSON"), r.out());
        assertTrue(summaryLine(r.out(), "missing").contains("nope.jsonl: data file not found"), r.out());
        assertTrue(
                Pattern.compile(" done +2 ")
                        .matcher(summaryLine(r.out(), "good-1"))
                        .find(),
                r.out());
        assertTrue(
                Pattern.compile(" done +2 ")
                        .matcher(summaryLine(r.out(), "good-2"))
                        .find(),
                r.out());
        assertTrue(r.err().contains("rectify: batch: 2 of 4 jobs failed:"), r.err());
        assertTrue(r.err().contains("  broken (line 2): " + badFile + ":3: "), r.err());
        assertTrue(r.err().contains("  missing (line 3): "), r.err());
        assertTrue(Files.exists(out.resolve("adapters/good-1/adapter_model.safetensors")));
        assertTrue(Files.exists(out.resolve("adapters/good-2/adapter_model.safetensors")));
        assertFalse(Files.exists(out.resolve("adapters/broken")));
        JsonNode summary =
                new ObjectMapper().readTree(out.resolve("nightly.summary.json").toFile());
        assertEquals("failed", summary.get(1).get("status").asText());
        assertTrue(summary.get(1).get("error").asText().startsWith(badFile + ":3:"), summary.toString());

        // fixed data: the next run trains only the jobs that failed
        Files.write(
                dir.resolve("data/bad.jsonl"),
                Files.readAllLines(dir.resolve("data/b.jsonl")).subList(0, 8));
        Files.delete(manifest);
        Files.write(
                manifest,
                List.of(
                        line("good-1", "data/a.jsonl", "dft", ", \"max_steps\": 2, \"eval_fraction\": 0", null)
                                .replace("\"max_steps\": 4, ", ""),
                        line("broken", "data/bad.jsonl", "dft", ", \"max_steps\": 1", null)
                                .replace("\"max_steps\": 4, ", ""),
                        line("good-2", "data/c.jsonl", "sft", ", \"max_steps\": 2, \"eval_fraction\": 0", null)
                                .replace("\"max_steps\": 4, ", "")));
        Run again = run(batchArgs(manifest, out).toArray(new String[0]));
        assertEquals(0, again.code(), again.err() + again.out());
        assertTrue(again.out().contains("3 jobs: 1 done, 2 skipped (already done), 0 failed"), again.out());
    }

    @Test
    void aBadManifestIsOneClearLineAndWritesNothing(@TempDir Path dir) throws Exception {
        writeData(dir);
        String good = line("ok", "data/a.jsonl", "dft", "", null);
        Path out = dir.resolve("out");
        String[][] cases = {
            {good + "\n{\"name\": \"x\", \"data\": ", ":2: not valid JSON"},
            {line("x", "data/a.jsonl", "dft", ", \"lora_rnak\": 4", null), ":1: job 'x': unknown option \"lora_rnak\""},
            {good + "\n" + line("ok", "data/b.jsonl", "sft", "", null), ":2: duplicate job name 'ok' (first on line 1)"
            },
            {good + "\n" + line("other", "data/b.jsonl", "sft", "", "adapters/ok"), ":2: job 'other' writes to "},
            {"{\"name\": \"x\", \"objective\": \"dft\"}", ":1: job 'x': missing \"data\""},
            {"{\"name\": \"x\", \"data\": \"a.jsonl\", \"objective\": \"rl\"}", ":1: job 'x': unknown objective 'rl'"},
            {
                "{\"name\": \"x\", \"data\": \"a.jsonl\", \"options\": {\"max_steps\": \"4\"}}",
                ":1: job 'x': option max_steps must be an integer, found \"4\""
            },
            {
                "{\"name\": \"x\", \"data\": \"a.jsonl\", \"options\": {\"learning_rate\": 5}}",
                ":1: job 'x': learning rate must be in (0, 1)"
            },
            {"{\"name\": \"x\", \"data\": \"a.jsonl\", \"outptu\": \"y\"}", ":1: unknown field \"outptu\""},
            {"{\"name\": \"../x\", \"data\": \"a.jsonl\"}", ":1: job name '../x' must be"},
            {"{\"name\": \"x\", \"name\": \"y\", \"data\": \"a.jsonl\"}", ":1: not valid JSON: Duplicate field 'name'"},
            {"\n\n", ": no jobs"},
        };
        for (String[] c : cases) {
            Path manifest = dir.resolve("jobs.jsonl");
            Files.writeString(manifest, c[0]);
            Run r = run(batchArgs(manifest, out).toArray(new String[0]));
            assertEquals(1, r.code(), c[0] + "\n" + r.err());
            assertTrue(
                    r.err().startsWith("rectify: error: " + manifest + c[1]), "expected '" + c[1] + "' in: " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(Files.exists(out), "nothing written for a bad manifest");
        }
        Run missing = run(batchArgs(dir.resolve("nope.jsonl"), out).toArray(new String[0]));
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("nope.jsonl: manifest not found"), missing.err());
        Path manifest = dir.resolve("jobs.jsonl");
        Files.writeString(manifest, good);
        Run parallel = run(batchArgs(manifest, out, "--parallel", "0").toArray(new String[0]));
        assertEquals(1, parallel.code());
        assertTrue(parallel.err().contains("--parallel must be"), parallel.err());
        assertEquals(2, run("batch").code(), "no manifest is a usage error");
        assertFalse(Files.exists(out), "nothing written for a bad command line");
        Run help = run("batch", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("--parallel") && help.out().contains("max_steps"), help.out());
    }
}
