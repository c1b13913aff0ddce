package dev.rectify.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.io.ContentHash;
import dev.rectify.job.BatchManifest;
import dev.rectify.job.FileJobStore;
import dev.rectify.job.FineTuneJob;
import dev.rectify.job.FineTuneService;
import dev.rectify.job.JobState;
import dev.rectify.job.JobStatus;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkExecutorInfo;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Spark batch in {@code local[2]} mode on the bundled model: a manifest of three tiny fine-tunes gives the
 * adapters the SDK's job service gives for the same entries (as {@code rectify batch} runs them); a run cancelled
 * once two fine-tunes have finished, rerun on the same manifest, skips those, resumes the interrupted one from
 * its checkpoint and ends with the adapters of the uninterrupted run.
 */
class SparkBatchTest {
    private static final Path MODEL = Path.of(System.getProperty("rectify.test.model", "../models/rectify-tiny"))
            .toAbsolutePath()
            .normalize();
    private static final String TINY = "\"epochs\": 1, \"lora_rank\": 4, \"learning_rate\": 1e-3, "
            + "\"batch_size\": 4, \"micro_batch_size\": 2, \"max_seq_length\": 96, \"eval_fraction\": 0";
    private static final List<String> NAMES = List.of("job-a", "job-b", "job-c");
    private static JavaSparkContext sc;

    @BeforeAll
    static void startSpark() {
        sc = new JavaSparkContext(new SparkConf()
                .setMaster("local[2]")
                .setAppName("rectify-spark-test")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.task.maxFailures", "1"));
    }

    @AfterAll
    static void stopSpark() {
        if (sc != null) {
            sc.close();
        }
    }

    /**
     * A manifest of three fine-tunes on 12 demonstrations each: job-a (2 steps), job-c (3 steps) and job-b (24 steps,
     * checkpointed every 3). job-b comes last, so with two task slots it starts only once job-a or job-c has finished,
     * and outlasts both: the cancel below waits for "job-a and job-c finished, job-b checkpointed" without depending on
     * which of two simultaneous tasks happens to be faster (a run where job-b, started beside job-a, finished first
     * failed).
     */
    private static Path writeManifest(Path dir) throws Exception {
        List<String> train =
                Files.readAllLines(MODEL.resolve("../../data/math/train.jsonl").normalize());
        Files.createDirectories(dir.resolve("data"));
        Files.write(dir.resolve("data/a.jsonl"), train.subList(0, 12));
        Files.write(dir.resolve("data/b.jsonl"), train.subList(12, 24));
        Files.write(dir.resolve("data/c.jsonl"), train.subList(24, 36));
        Path manifest = dir.resolve("jobs.jsonl");
        Files.write(
                manifest,
                List.of(
                        "{\"name\": \"job-a\", \"data\": \"data/a.jsonl\", \"objective\": \"dft\", \"options\": {"
                                + TINY + ", \"max_steps\": 2, \"seed\": 7}}",
                        "{\"name\": \"job-c\", \"data\": \"data/c.jsonl\", \"objective\": \"dft\", \"options\": {"
                                + TINY + ", \"max_steps\": 3, \"seed\": 8}}",
                        "",
                        "{\"name\": \"job-b\", \"data\": \"data/b.jsonl\", \"objective\": \"sft\", \"options\": {"
                                + TINY
                                + ", \"max_steps\": 24, \"seed\": 7, \"checkpoint_every\": 3}, \"output\": \"adapters/b\"}"));
        return manifest;
    }

    private static SparkBatchOptions options(Path manifest, Path out) {
        return SparkBatchOptions.of(manifest, out, out.resolve("store")).withModel(MODEL);
    }

    /** Adapter id and a hash of the weights: the tensor bytes, and the header as JSON (key order aside). */
    private static String contentHash(Path adapterDir) throws Exception {
        byte[] b = Files.readAllBytes(adapterDir.resolve("adapter_model.safetensors"));
        int n = (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = new ObjectMapper().readTree(new String(b, 8, n, StandardCharsets.UTF_8));
        Map<String, String> sorted = new TreeMap<>();
        header.fields()
                .forEachRemaining(e -> sorted.put(e.getKey(), e.getValue().toString()));
        JsonNode manifest = new ObjectMapper()
                .readTree(adapterDir.resolve("rectify-adapter.json").toFile());
        return manifest.path("id").asText() + "/" + ContentHash.of(sorted.toString()) + "/"
                + ContentHash.of(Arrays.copyOfRange(b, 8 + n, b.length));
    }

    private static Map<String, String> hashes(Path out, SparkBatchResult r) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        for (String name : NAMES) {
            m.put(name, contentHash(Path.of(r.entry(name).output())));
        }
        return m;
    }

    @Test
    void aManifestRunsAsSparkTasksLikeTheSdkAndAKilledRunResumesToTheSameAdapters(@TempDir Path dir) throws Exception {
        Path manifest = writeManifest(dir);

        // the reference: the SDK's job service on the same entries, two at a time, as rectify batch --parallel 2 runs
        // them
        Path ref = dir.resolve("sdk");
        Map<String, String> expected = new LinkedHashMap<>();
        try (BaseModel base = BaseModel.open(MODEL, Device.cpu(1));
                FineTuneService service = FineTuneService.builder()
                        .jobStore(new FileJobStore(ref.resolve("runs")))
                        .parallelism(2)
                        .build()) {
            Map<BatchManifest.Job, FineTuneJob> jobs = new LinkedHashMap<>();
            for (BatchManifest.Job job : BatchManifest.read(manifest, ref)) {
                jobs.put(job, service.submit(job.request(base, 0, null)));
            }
            for (Map.Entry<BatchManifest.Job, FineTuneJob> e : jobs.entrySet()) {
                Adapter a = e.getValue().await();
                expected.put(e.getKey().name(), contentHash(e.getKey().output()));
                assertTrue(expected.get(e.getKey().name()).startsWith(a.id() + "/"));
            }
        }

        // uninterrupted on Spark, two tasks at a time
        Path whole = dir.resolve("whole");
        SparkBatchResult first = SparkBatch.run(sc, options(manifest, whole));
        assertEquals(3, first.count(EntryResult.DONE), first.table());
        assertEquals(
                List.of(2, 3, 24),
                first.entries().stream().map(EntryResult::steps).toList(),
                first.table());
        for (EntryResult e : first.entries()) {
            assertTrue(Double.isFinite(e.finalLoss()) && e.finalLoss() > 0, e.toString());
            assertEquals(-1, e.resumedAt(), e.toString());
            assertTrue(e.where().startsWith("executor driver on cpu:1"), e.where());
        }
        assertEquals(expected, hashes(whole, first), "Spark trains the adapters the SDK trains");
        AdapterStore store = AdapterStore.open(whole.resolve("store"));
        for (EntryResult e : first.entries()) {
            assertEquals(e.adapterId(), store.get(e.adapterId()).id(), "every adapter is in the shared store");
        }
        assertTrue(
                first.summaryLine()
                        .startsWith("rectify-spark: 3 fine-tunes: 3 done, 0 skipped (already done), 0 failed"),
                first.summaryLine());
        JsonNode summary =
                new ObjectMapper().readTree(whole.resolve("jobs.summary.json").toFile());
        assertEquals(
                first.entry("job-b").adapterId(),
                summary.get(2).get("adapter_id").asText());
        assertFalse(Files.exists(whole.resolve("runs/job-b")), "finished fine-tunes leave no checkpoints");

        // cancelled once job-a and job-c have finished and job-b has a checkpoint, then run again on the same manifest
        Path cut = dir.resolve("cut");
        FileJobStore states = new FileJobStore(cut.resolve("runs"));
        CompletableFuture<SparkBatchResult> cancelled = CompletableFuture.supplyAsync(() -> {
            sc.setJobGroup("cut", "the run to cancel", true);
            try {
                return SparkBatch.run(sc, options(manifest, cut));
            } finally {
                sc.clearJobGroup();
            }
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(status(states, "job-a") == JobStatus.SUCCEEDED
                && status(states, "job-c") == JobStatus.SUCCEEDED
                && Files.exists(cut.resolve("runs/job-b/latest")))) {
            assertTrue(
                    System.nanoTime() < deadline && !cancelled.isDone(),
                    "job-a and job-c finished and job-b checkpointed");
            Thread.sleep(20);
        }
        sc.cancelJobGroup("cut");
        CompletionException stopped = assertThrows(CompletionException.class, cancelled::join);
        assertTrue(
                String.valueOf(stopped.getCause().getMessage()).contains("cancel"),
                stopped.getCause().toString());
        awaitNoRunningTasks();
        assertTrue(Files.exists(cut.resolve("adapters/job-a/" + EntryTask.RECORD)), "job-a finished before the cancel");
        assertFalse(Files.exists(cut.resolve("adapters/b")), "the interrupted job-b wrote no adapter");
        assertEquals(JobStatus.PAUSED, status(states, "job-b"), "the killed task paused its fine-tune");
        assertTrue(Files.exists(cut.resolve("runs/job-b/latest")), "job-b's checkpoints stayed");

        SparkBatchResult rerun = SparkBatch.run(sc, options(manifest, cut));
        assertEquals(EntryResult.SKIPPED, rerun.entry("job-a").status(), rerun.table());
        assertEquals(first.entry("job-a").finalLoss(), rerun.entry("job-a").finalLoss(), 0.0, "recorded when trained");
        assertEquals(EntryResult.DONE, rerun.entry("job-b").status(), rerun.table());
        assertTrue(rerun.entry("job-b").resumedAt() >= 3, "job-b resumed from its checkpoint: " + rerun.table());
        assertEquals(EntryResult.SKIPPED, rerun.entry("job-c").status(), rerun.table());
        assertEquals(
                expected, hashes(cut, rerun), "the interrupted batch ends with the adapters of the uninterrupted one");
        for (EntryResult e : rerun.entries()) {
            assertNotNull(AdapterStore.open(cut.resolve("store")).get(e.adapterId()));
        }
    }

    @Test
    void anEntryWithBadDataFailsAloneAndABadManifestFailsBeforeAnyTask(@TempDir Path dir) throws Exception {
        Path manifest = writeManifest(dir);
        List<String> lines = Files.readAllLines(manifest);
        Path broken = dir.resolve("broken.jsonl");
        Files.write(broken, List.of(lines.get(0).replace("data/a.jsonl", "data/nope.jsonl")));
        SparkBatchResult r = SparkBatch.run(sc, options(broken, dir.resolve("out")));
        assertEquals(EntryResult.FAILED, r.entry("job-a").status(), r.table());
        assertTrue(
                r.entry("job-a").error().contains("nope.jsonl: data file not found"),
                r.entry("job-a").error());
        assertTrue(r.table().contains("nope.jsonl"), r.table());

        Path bad = dir.resolve("bad.jsonl");
        Files.write(bad, List.of(lines.get(0).replace("\"seed\"", "\"sead\"")));
        InvalidArgumentException e = assertThrows(
                InvalidArgumentException.class, () -> SparkBatch.run(sc, options(bad, dir.resolve("out"))));
        assertTrue(e.getMessage().startsWith(bad + ":1: job 'job-a': unknown option \"sead\""), e.getMessage());
    }

    private static JobStatus status(FileJobStore store, String id) {
        return store.load(id).map(JobState::status).orElse(null);
    }

    /** Waits until the killed tasks have ended (they pause their fine-tunes at the next step). */
    private static void awaitNoRunningTasks() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (Arrays.stream(sc.sc().statusTracker().getExecutorInfos())
                        .mapToInt(SparkExecutorInfo::numRunningTasks)
                        .sum()
                > 0) {
            assertTrue(System.nanoTime() < deadline, "the killed tasks ended");
            Thread.sleep(50);
        }
    }
}
