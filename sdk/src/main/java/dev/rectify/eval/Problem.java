package dev.rectify.eval;

import dev.rectify.core.Example;

/** A question with its reference answer, and optionally a reference solution (used for NLL and token scores). */
public record Problem(String prompt, String answer, String solution) {
    /** The reference solution as a training-style example, or null when there is none. */
    public Example asExample() {
        return solution == null || solution.isEmpty() ? null : Example.of(prompt, solution);
    }
}
