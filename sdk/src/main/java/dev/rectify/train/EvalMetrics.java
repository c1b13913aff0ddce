package dev.rectify.train;

/** Held-out metrics: the objective, the mean token NLL, token accuracy (argmax equals the target), token count. */
public record EvalMetrics(double loss, double nll, double tokenAccuracy, long tokens) {
    /** No evaluation was run. */
    public static final EvalMetrics NONE = new EvalMetrics(Double.NaN, Double.NaN, Double.NaN, 0);

    public boolean isEmpty() {
        return tokens == 0;
    }
}
