package dev.rectify.train;

import java.time.Duration;
import java.util.List;

/** What a run produced: the trained weights, held-out metrics before and after, and the step history. */
public record TrainingResult(
        TrainedWeights weights,
        EvalMetrics initialEval,
        EvalMetrics finalEval,
        int steps,
        int skippedSteps,
        long trainedTokens,
        Duration duration,
        boolean stoppedEarly,
        List<TrainingProgress> history) {
    public TrainingResult {
        history = List.copyOf(history);
    }
}
