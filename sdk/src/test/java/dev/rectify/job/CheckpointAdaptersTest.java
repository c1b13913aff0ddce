package dev.rectify.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import dev.rectify.train.CheckpointNotFoundException;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.RunCheckpoints;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint adapters on the tiny model: a run of 6 steps with checkpoints every 2 keeps the newest 2 (keepCheckpoints);
 * the adapter of the last checkpoint equals the final adapter (weights and generation), an intermediate one differs
 * from the base and from the final one, a pruned one is not found.
 */
class CheckpointAdaptersTest {
    private static final String PROMPT = "Question: What is 17 + 25?\nAnswer:";

    @Test
    void checkpointAdaptersServeLikeTheFinalAdapterAtTheLastStep(@TempDir Path dir) {
        BaseModel base = TestModels.tiny();
        List<Example> data = JsonlDataset.read(TestModels.tinyDir()
                        .resolve("../../data/math/train.jsonl")
                        .normalize())
                .subList(0, 12);
        FineTuneOptions options = FineTuneOptions.builder()
                .objective(Objective.DFT)
                .lora(4, 8)
                .batchSize(4)
                .microBatchSize(2)
                .maxSeqLength(96)
                .learningRate(2e-2)
                .evalFraction(0)
                .seed(5)
                .maxSteps(6)
                .checkpointEvery(2)
                .keepCheckpoints(2)
                .build();
        Adapter fin;
        try (FineTuneService service = FineTuneService.builder()
                .jobStore(new FileJobStore(dir.resolve("runs")))
                .keepFinishedCheckpoints(true)
                .build()) {
            fin = service.run(new FineTuneRequest("job", base, data, options, null));
        }
        Path runDir = dir.resolve("runs/job");
        assertEquals(
                List.of(4, 6),
                RunCheckpoints.checkpointSteps(runDir),
                "the newest 2 checkpoints are kept, the final one included");
        assertThrows(CheckpointNotFoundException.class, () -> CheckpointAdapters.of(base, "job", options, runDir, 2));

        Adapter last = CheckpointAdapters.of(base, "job", options, runDir, 6);
        Adapter mid = CheckpointAdapters.of(base, "job", options, runDir, 4);
        assertEquals(fin.weights().values().keySet(), last.weights().values().keySet());
        for (String name : fin.weights().values().keySet()) {
            assertArrayEquals(
                    fin.weights().values().get(name), last.weights().values().get(name), name);
            assertArrayEquals(
                    fin.weights().shapes().get(name), last.weights().shapes().get(name), name);
        }
        assertEquals(fin.kind(), last.kind());
        assertEquals(fin.targetModules(), last.targetModules());
        assertNotEquals(fin.id(), last.id());
        assertTrue(last.recipe().endsWith(";checkpoint=job@step-6"), last.recipe());

        // written and read back like any adapter
        AdapterFiles.write(mid, dir.resolve("mid"));
        Adapter midRead = AdapterFiles.read(dir.resolve("mid"), base.contentHash());
        assertEquals(mid.recipe(), midRead.recipe());

        Sampling greedy = Sampling.greedy().maxNewTokens(12);
        String baseText = base.generate(PROMPT, greedy).text();
        List<Example> probe = data.subList(0, 4);
        double baseNll = base.score(probe).stream().mapToDouble(s -> s.nllSum()).sum();
        String finText;
        double finNll;
        try (AdaptedModel m = AdaptedModel.of(base, fin)) {
            finText = m.generate(PROMPT, greedy).text();
            finNll = m.score(probe).stream().mapToDouble(s -> s.nllSum()).sum();
        }
        try (AdaptedModel m = AdaptedModel.of(base, last)) {
            assertEquals(finText, m.generate(PROMPT, greedy).text());
            assertEquals(
                    finNll, m.score(probe).stream().mapToDouble(s -> s.nllSum()).sum());
        }
        try (AdaptedModel m = AdaptedModel.of(base, midRead)) {
            double midNll = m.score(probe).stream().mapToDouble(s -> s.nllSum()).sum();
            System.out.printf(
                    "CheckpointAdaptersTest: NLL of 4 training examples: base %.4f, step 4 %.4f, final %.4f%n",
                    baseNll, midNll, finNll);
            assertNotEquals(baseNll, midNll);
            assertNotEquals(finNll, midNll);
            assertTrue(midNll < baseNll, "the step-4 adapter has learnt something: " + midNll + " vs base " + baseNll);
            System.out.println("CheckpointAdaptersTest: base '" + baseText + "', step 4 '"
                    + m.generate(PROMPT, greedy).text() + "', final '" + finText + "'");
        }
    }
}
