package dev.rectify.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.adapter.Adapter;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainingCancelledException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job service on the tiny model: the async handle reports events and completes with the adapter; a paused job
 * resumes from its checkpoint to the weights of an uninterrupted one; a finished job is reused, a changed one starts
 * over; a cancelled one ends cancelled.
 */
class FineTuneServiceTest {
    private static List<Example> data(int n) {
        return JsonlDataset.read(TestModels.tinyDir()
                        .resolve("../../data/math/train.jsonl")
                        .normalize())
                .subList(0, n);
    }

    private static FineTuneOptions.Builder small(int steps) {
        return FineTuneOptions.builder()
                .objective(Objective.DFT)
                .lora(4, 8)
                .batchSize(4)
                .microBatchSize(2)
                .maxSeqLength(96)
                .learningRate(1e-3)
                .evalFraction(0)
                .seed(5)
                .maxSteps(steps)
                .checkpointEvery(1);
    }

    @Test
    void theHandleReportsEventsAndCompletesWithTheAdapter(@TempDir Path dir) throws Exception {
        try (FineTuneService service = FineTuneService.builder()
                .jobStore(new FileJobStore(dir.resolve("runs")))
                .build()) {
            List<JobEvent> events = new CopyOnWriteArrayList<>();
            FineTuneJob job = service.submit(
                    new FineTuneRequest("first", TestModels.tiny(), data(8), small(3).build(), dir.resolve("out")),
                    events::add);
            Adapter a = job.result().get(5, TimeUnit.MINUTES);
            assertEquals(JobStatus.SUCCEEDED, job.status());
            assertEquals(job.fingerprint(), a.id());
            assertEquals(
                    3,
                    events.stream()
                            .filter(e -> e.kind() == JobEvent.Kind.PROGRESS)
                            .count());
            assertEquals(
                    List.of(1, 2),
                    events.stream()
                            .filter(e -> e.kind() == JobEvent.Kind.CHECKPOINT)
                            .map(JobEvent::step)
                            .toList());
            assertEquals(JobStatus.RUNNING, events.get(0).status());
            assertEquals(JobStatus.SUCCEEDED, events.get(events.size() - 1).status());
            assertTrue(Files.exists(dir.resolve("out/adapter_model.safetensors")));
            assertFalse(Files.exists(dir.resolve("runs/first")), "a finished job's checkpoints are deleted");
            assertEquals(
                    JobStatus.SUCCEEDED,
                    new FileJobStore(dir.resolve("runs"))
                            .load("first")
                            .orElseThrow()
                            .status());
        }
    }

    @Test
    void aPausedJobResumesToTheWeightsOfAnUninterruptedOneAndIsThenReused(@TempDir Path dir) throws Exception {
        FileJobStore store = new FileJobStore(dir.resolve("runs"));
        try (FineTuneService service = FineTuneService.builder().jobStore(store).build()) {
            Adapter straight =
                    service.run(new FineTuneRequest("straight", TestModels.tiny(), data(12), small(6).build(), null));

            FineTuneRequest request =
                    new FineTuneRequest("paused", TestModels.tiny(), data(12), small(6).build(), dir.resolve("out"));
            FineTuneJob job = service.submit(request);
            job.addListener(e -> {
                if (e.kind() == JobEvent.Kind.PROGRESS && e.step() == 2) {
                    job.pause();
                }
            });
            CompletionException stopped =
                    assertThrows(CompletionException.class, () -> job.result().join());
            assertInstanceOf(JobPausedException.class, stopped.getCause());
            assertEquals(JobStatus.PAUSED, job.status());
            assertEquals(JobStatus.PAUSED, store.load("paused").orElseThrow().status());
            assertTrue(Files.exists(dir.resolve("runs/paused/latest")), "the checkpoint is kept");

            // the same request again (options are single-use: their cancellation token was spent) resumes it
            FineTuneJob again = service.submit(
                    new FineTuneRequest("paused", TestModels.tiny(), data(12), small(6).build(), dir.resolve("out")));
            Adapter resumed = again.result().get(5, TimeUnit.MINUTES);
            assertEquals(2, again.resumedFromStep());
            assertEquals(straight.id(), resumed.id(), "one fingerprint for the same inputs");
            for (var e : straight.weights().values().entrySet()) {
                assertArrayEquals(e.getValue(), resumed.weights().values().get(e.getKey()), 0f, e.getKey());
            }

            // once more: reused from the output, no training
            List<JobEvent> events = new CopyOnWriteArrayList<>();
            FineTuneJob third = service.submit(
                    new FineTuneRequest("paused", TestModels.tiny(), data(12), small(6).build(), dir.resolve("out")),
                    events::add);
            third.result().get(1, TimeUnit.MINUTES);
            assertTrue(third.reused());
            assertEquals(
                    0,
                    events.stream()
                            .filter(e -> e.kind() == JobEvent.Kind.PROGRESS)
                            .count());

            // other data under the same id: trained again from the start
            FineTuneJob changed = service.submit(
                    new FineTuneRequest("paused", TestModels.tiny(), data(11), small(2).build(), dir.resolve("out")));
            Adapter other = changed.result().get(5, TimeUnit.MINUTES);
            assertFalse(changed.reused());
            assertEquals(-1, changed.resumedFromStep());
            assertFalse(other.id().equals(resumed.id()));
        }
    }

    @Test
    void aCancelledJobEndsCancelledAndKeepsNoAdapter(@TempDir Path dir) {
        try (FineTuneService service = FineTuneService.builder()
                .jobStore(new FileJobStore(dir.resolve("runs")))
                .build()) {
            FineTuneJob[] holder = new FineTuneJob[1];
            FineTuneJob job = service.submit(
                    new FineTuneRequest(
                            "doomed", TestModels.tiny(), data(12), small(50).build(), dir.resolve("out")),
                    e -> {
                        if (e.kind() == JobEvent.Kind.PROGRESS && e.step() == 1) {
                            while (holder[0] == null) {
                                Thread.onSpinWait();
                            }
                            holder[0].cancel();
                        }
                    });
            holder[0] = job;
            CompletionException e =
                    assertThrows(CompletionException.class, () -> job.result().join());
            assertInstanceOf(TrainingCancelledException.class, e.getCause());
            assertEquals(JobStatus.CANCELLED, job.status());
            assertTrue(job.step() < 50);
            assertFalse(Files.exists(dir.resolve("out")));
        }
    }
}
