package dev.rectify.train;

import java.util.ArrayList;
import java.util.List;

/** The training loop's position and bookkeeping, saved beside each checkpoint and read back on resume. */
final class LoopState {
    int step;
    int resumedAtStep;
    int savedAtStep = -1;
    int skipped;
    long tokens;
    double lastLr;
    double bestNll = Double.POSITIVE_INFINITY;
    int evalsWithoutImprovement;
    /** float16 loss scaling ({@link LossScaler}): the scale (0 = none), good steps since it changed, overflow skips. */
    double lossScale;

    int lossScaleGoodSteps;
    int overflows;
    EvalMetrics initialEval = EvalMetrics.NONE;
    final List<TrainingProgress> history = new ArrayList<>();
}
