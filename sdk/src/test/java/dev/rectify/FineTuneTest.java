package dev.rectify;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.core.CancellationToken;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import dev.rectify.train.CheckpointMismatchException;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainingCancelledException;
import dev.rectify.train.TrainingProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fine-tuning through the public API on the bundled model, small runs. */
class FineTuneTest {
    static List<Example> math(String file, int n) {
        return JsonlDataset.read(TestModels.tinyDir()
                        .resolve("../../data/math")
                        .resolve(file)
                        .normalize())
                .subList(0, n);
    }

    private static FineTuneOptions.Builder small(Path runDir) {
        return FineTuneOptions.builder()
                .objective(Objective.DFT)
                .lora(4, 8)
                .batchSize(4)
                .microBatchSize(2)
                .maxSeqLength(96)
                .learningRate(1e-3)
                .evalFraction(0)
                .seed(7)
                .runDir(runDir);
    }

    @Test
    void cancelledRunResumesToTheSameWeightsAsAnUninterruptedOne(@TempDir Path dir) {
        BaseModel m = TestModels.tiny();
        List<Example> data = math("train.jsonl", 12);
        Adapter straight =
                Rectify.fineTune(m, data, small(dir.resolve("a")).maxSteps(6).build());

        CancellationToken token = new CancellationToken();
        FineTuneOptions interrupted = small(dir.resolve("b"))
                .maxSteps(6)
                .checkpointEvery(1)
                .cancellation(token)
                .onProgress(p -> {
                    if (p.phase() == TrainingProgress.Phase.TRAIN && p.step() == 3) {
                        token.cancel();
                    }
                })
                .build();
        assertThrows(TrainingCancelledException.class, () -> Rectify.fineTune(m, data, interrupted));
        assertTrue(Files.exists(dir.resolve("b").resolve("latest")), "a checkpoint was kept");

        List<Integer> resumedSteps = new ArrayList<>();
        Adapter resumed = Rectify.fineTune(
                m,
                data,
                small(dir.resolve("b"))
                        .maxSteps(6)
                        .checkpointEvery(1)
                        .resume(true)
                        .onProgress(p -> resumedSteps.add(p.step()))
                        .build());
        assertEquals(List.of(4, 5, 6), resumedSteps, "the resumed run continues at step 4");
        assertEquals(straight.id(), resumed.id());
        for (Map.Entry<String, float[]> e : straight.weights().values().entrySet()) {
            assertArrayEquals(e.getValue(), resumed.weights().values().get(e.getKey()), 0f, e.getKey());
        }
    }

    @Test
    void adapterRoundTripsThroughPeftFilesAndGeneratesWithTheTrainedWeights(@TempDir Path dir) {
        BaseModel m = TestModels.tiny();
        Adapter a = Rectify.fineTune(
                m, math("train.jsonl", 8), small(dir.resolve("run")).maxSteps(2).build());
        assertEquals(Adapter.Kind.LORA, a.kind());
        assertTrue(
                a.weights().values().keySet().stream().allMatch(n -> n.startsWith("base_model.model.model.layers.")));
        AdapterFiles.write(a, dir.resolve("adapter"));
        assertTrue(Files.isRegularFile(dir.resolve("adapter/adapter_config.json")));
        Adapter back = AdapterFiles.read(dir.resolve("adapter"), null);
        assertEquals(a.id(), back.id());
        for (var e : a.weights().values().entrySet()) {
            assertArrayEquals(e.getValue(), back.weights().values().get(e.getKey()), 0f);
        }
        try (AdaptedModel am = AdaptedModel.of(m, back)) {
            String text = am.chat(
                            List.of(ChatMessage.user("What is 12 + 30?")),
                            Sampling.greedy().maxNewTokens(16),
                            t -> {})
                    .text();
            assertFalse(text.isEmpty());
        }
    }

    @Test
    void badInputIsATypedErrorAndWritesNothing(@TempDir Path dir) {
        BaseModel m = TestModels.tiny();
        Path run = dir.resolve("run");
        var empty = assertThrows(
                InvalidArgumentException.class,
                () -> Rectify.fineTune(m, List.of(), small(run).maxSteps(1).build()));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        var blank = assertThrows(
                InvalidArgumentException.class,
                () -> Rectify.fineTune(
                        m,
                        List.of(Example.of("What is 1 + 1?", "2"), Example.of("What is 2 + 2?", "")),
                        small(run).maxSteps(1).build()));
        assertTrue(blank.getMessage().contains("example 1"), blank.getMessage());
        assertFalse(Files.exists(run), "nothing written for rejected input");
    }

    @Test
    void aCheckpointOfAnotherRunIsRefused(@TempDir Path dir) {
        BaseModel m = TestModels.tiny();
        List<Example> data = math("train.jsonl", 8);
        Rectify.fineTune(m, data, small(dir.resolve("run")).maxSteps(1).build());
        var e = assertThrows(
                CheckpointMismatchException.class,
                () -> Rectify.fineTune(
                        m,
                        data,
                        small(dir.resolve("run"))
                                .lora(8, 16)
                                .maxSteps(2)
                                .resume(true)
                                .build()));
        assertTrue(e.getMessage().contains("run"), e.getMessage());
    }
}
