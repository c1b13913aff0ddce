package dev.rectify.canon;

import dev.rectify.core.RectifyException;
import dev.rectify.onnx.Node;

/**
 * A fused, inference-only op (or an attribute/input form of one) that the canonicalization pass cannot rewrite into
 * standard ONNX ops, so the graph cannot be differentiated. The message names the op, the node and what to do.
 */
public class UnlowerableOpException extends RectifyException {
    private static final long serialVersionUID = 1L;
    private final String opType;
    private final String domain;
    private final String nodeName;

    public UnlowerableOpException(Node node, String why, String whatToDo) {
        super("cannot lower " + node.describe() + " to standard ONNX ops for training: " + why + ". " + whatToDo);
        this.opType = node.opType();
        this.domain = node.domain();
        this.nodeName = node.name();
    }

    /** The op type, e.g. "MatMulNBits". */
    public String opType() {
        return opType;
    }

    /** The op's domain ("" for ONNX). */
    public String domain() {
        return domain;
    }

    /** The node's name ("" when unnamed). */
    public String nodeName() {
        return nodeName;
    }
}
