package dev.rectify.autodiff;

import dev.rectify.core.RectifyException;

/**
 * A node's output types or shapes cannot be inferred because its inputs or attributes contradict its op (an axis
 * out of range, a permutation of the wrong length, split sizes that do not match the outputs...). The graph is
 * invalid as given: fix the model or the transform that produced it.
 */
public class ShapeInferenceException extends RectifyException {
    private static final long serialVersionUID = 1L;
    private final String nodeName;
    private final String opType;
    private final String input;

    /**
     * @param input the offending input tensor's name, or a description of the inputs when no single one is to blame
     */
    public ShapeInferenceException(String nodeName, String opType, String input, String detail, Throwable cause) {
        super(
                "cannot infer the output shapes of node '" + nodeName + "' (op " + opType + ") from input " + input
                        + ": " + detail
                        + ". The graph is invalid for this op; check the model or the transform that produced it.",
                cause);
        this.nodeName = nodeName;
        this.opType = opType;
        this.input = input;
    }

    public String nodeName() {
        return nodeName;
    }

    public String opType() {
        return opType;
    }

    /** The input the failure is about (its tensor name and known shape). */
    public String input() {
        return input;
    }
}
