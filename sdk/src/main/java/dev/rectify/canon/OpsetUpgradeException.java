package dev.rectify.canon;

import dev.rectify.core.RectifyException;
import dev.rectify.onnx.Node;

/**
 * An ONNX op (or an attribute value of one) that {@link OpsetUpgrade} cannot carry from the model's opset to the
 * opset training needs, because its meaning has no equivalent there. The message names the op, the node, both
 * opsets and what to do.
 */
public class OpsetUpgradeException extends RectifyException {
    private static final long serialVersionUID = 1L;
    private final String opType;
    private final String nodeName;
    private final int fromOpset;
    private final int toOpset;

    public OpsetUpgradeException(Node node, int fromOpset, int toOpset, String why, String whatToDo) {
        super("cannot upgrade " + node.describe() + " from ONNX opset " + fromOpset + " to " + toOpset + ": " + why
                + ". " + whatToDo);
        this.opType = node.opType();
        this.nodeName = node.name();
        this.fromOpset = fromOpset;
        this.toOpset = toOpset;
    }

    public OpsetUpgradeException(int fromOpset, int toOpset, String why, String whatToDo) {
        super("cannot upgrade the graph from ONNX opset " + fromOpset + " to " + toOpset + ": " + why + ". "
                + whatToDo);
        this.opType = "";
        this.nodeName = "";
        this.fromOpset = fromOpset;
        this.toOpset = toOpset;
    }

    /** The op type, e.g. "Upsample"; "" when the whole graph is refused. */
    public String opType() {
        return opType;
    }

    /** The node's name ("" when unnamed or for the whole graph). */
    public String nodeName() {
        return nodeName;
    }

    /** The model's default-domain opset. */
    public int fromOpset() {
        return fromOpset;
    }

    /** The opset the upgrade was going to. */
    public int toOpset() {
        return toOpset;
    }
}
