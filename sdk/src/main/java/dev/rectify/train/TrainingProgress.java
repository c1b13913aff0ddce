package dev.rectify.train;

import java.time.Duration;

/**
 * A progress report: after each optimizer step ({@link Phase#TRAIN}) and each evaluation ({@link Phase#EVAL}).
 * {@code loss} is the objective, {@code nll} the plain mean negative log-likelihood of the same tokens.
 */
public record TrainingProgress(
        Phase phase,
        int step,
        int totalSteps,
        int epoch,
        double loss,
        double nll,
        double learningRate,
        double gradNorm,
        double tokensPerSecond,
        Duration elapsed,
        Duration eta,
        double evalLoss,
        double evalNll,
        double evalTokenAccuracy,
        int skippedSteps) {
    /** What just happened. */
    public enum Phase {
        TRAIN,
        EVAL
    }

    @Override
    public String toString() {
        if (phase == Phase.EVAL) {
            return String.format(
                    "eval  step %d/%d: loss %.4f, nll %.4f, token accuracy %.3f",
                    step, totalSteps, evalLoss, evalNll, evalTokenAccuracy);
        }
        return String.format(
                "step %d/%d (epoch %d): loss %.5f, nll %.4f, lr %.2e, grad norm %.3f, %.0f tokens/s, eta %ds",
                step, totalSteps, epoch + 1, loss, nll, learningRate, gradNorm, tokensPerSecond, eta.toSeconds());
    }
}
