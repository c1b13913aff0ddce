package dev.rectify.autodiff;

import dev.rectify.core.RectifyException;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** An op on the differentiable path (from a wrt tensor to a seed) has no gradient rule. */
public class UnsupportedOpException extends RectifyException {
    private static final long serialVersionUID = 1L;
    private final String opType;
    private final String domain;
    private final String nodeName;
    private final List<String> supported;

    public UnsupportedOpException(String opType, String domain, String nodeName, Set<String> supported) {
        this(opType, domain, nodeName, supported, "");
    }

    public UnsupportedOpException(String opType, String domain, String nodeName, Set<String> supported, String detail) {
        super((detail.isEmpty() ? "no gradient rule for op " : "cannot differentiate op ")
                + (domain == null || domain.isEmpty() ? "" : domain + ":") + opType
                + " (node '" + nodeName + "'), which lies on the path from the trainable tensors to the loss"
                + (detail.isEmpty() ? "" : ": " + detail) + ". Supported ops: "
                + String.join(", ", new TreeSet<>(supported))
                + ". Mark the tensors feeding it with stopGradient, or register a rule with Autodiff.withRule.");
        this.opType = opType;
        this.domain = domain == null ? "" : domain;
        this.nodeName = nodeName;
        this.supported = List.copyOf(new TreeSet<>(supported));
    }

    public String opType() {
        return opType;
    }

    /** The op's domain, "" for the default ONNX domain. */
    public String domain() {
        return domain;
    }

    public String nodeName() {
        return nodeName;
    }

    /** The supported op names, sorted. */
    public List<String> supportedOps() {
        return supported;
    }
}
