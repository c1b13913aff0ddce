package dev.rectify.eval;

import java.util.List;

/**
 * Scores of a model on a problem set: exact-match accuracy of greedy answers, and (when the problems carry reference
 * solutions) the mean token NLL of those solutions and every target token's probability.
 */
public record EvalReport(
        int problems, int correct, double nll, double tokenAccuracy, double[] tokenProbabilities, List<Item> items) {
    /** One problem's outcome. */
    public record Item(String prompt, String expected, String answer, boolean correct, String text) {}

    public double accuracy() {
        return problems == 0 ? 0 : correct / (double) problems;
    }
}
