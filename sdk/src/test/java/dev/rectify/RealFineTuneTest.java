package dev.rectify;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.eval.EvalReport;
import dev.rectify.eval.Evaluator;
import dev.rectify.eval.Problem;
import dev.rectify.eval.ProblemSet;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The real run: DFT LoRA fine-tuning of the bundled model on the bundled math demonstrations lowers held-out NLL
 * and raises held-out exact-match accuracy (greedy answers of all 100 held-out problems).
 */
class RealFineTuneTest {
    @Test
    void dftLoraImprovesHeldOutNllAndExactMatch() {
        BaseModel m = TestModels.tiny();
        Path data = TestModels.tinyDir().resolve("../../data/math").normalize();
        List<Example> train = JsonlDataset.read(data.resolve("train.jsonl"));
        List<Problem> heldOut = ProblemSet.read(data.resolve("heldout.jsonl"));
        Evaluator evaluator = new Evaluator(20, 512);
        EvalReport before = evaluator.evaluate(m, heldOut);

        Adapter a = Rectify.fineTune(
                m,
                train,
                FineTuneOptions.builder()
                        .objective(Objective.DFT)
                        .lora(16, 32)
                        .epochs(2)
                        .learningRate(5e-4)
                        .seed(42)
                        .evalFraction(0.05)
                        .build(),
                null);
        try (AdaptedModel tuned = AdaptedModel.of(m, a)) {
            EvalReport after = evaluator.evaluate(tuned, heldOut);
            String summary = String.format(
                    "held-out NLL %.4f -> %.4f, exact match %d -> %d of %d",
                    before.nll(), after.nll(), before.correct(), after.correct(), heldOut.size());
            System.out.println("RealFineTuneTest: " + summary);
            assertTrue(after.nll() < before.nll(), summary);
            assertTrue(after.correct() > before.correct(), summary);
            var res = a.result().orElseThrow();
            assertTrue(
                    res.finalEval().nll() < res.initialEval().nll(),
                    "the trainer's own held-out split: " + res.initialEval() + " -> " + res.finalEval());
        }
    }
}
