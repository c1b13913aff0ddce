package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.Node;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The one table of what autodiff knows per op: {@link OpSpec}s keyed by "Op" (ONNX) or "domain:Op". The engine asks
 * it for rules and differentiable inputs, shape inference for shape functions, errors for the supported ops.
 * Immutable.
 */
final class OpRegistry {
    private final Map<String, OpSpec> specs;
    private final Set<String> supported;

    private OpRegistry(Map<String, OpSpec> specs) {
        this.specs = Collections.unmodifiableMap(specs);
        Set<String> s = new TreeSet<>();
        specs.forEach((k, v) -> {
            if (v.hasGradient()) {
                s.add(k);
            }
        });
        this.supported = Collections.unmodifiableSet(s);
    }

    /** Collects specs; each op is added once. */
    static final class Builder {
        private final Map<String, OpSpec> specs = new LinkedHashMap<>();

        /** Registers {@code spec}; an op registered twice is a programming error. */
        Builder add(OpSpec spec) {
            if (specs.putIfAbsent(spec.key(), spec) != null) {
                throw new IllegalStateException("op " + spec.key() + " is registered twice");
            }
            return this;
        }

        OpRegistry build() {
            return new OpRegistry(new LinkedHashMap<>(specs));
        }
    }

    static Builder builder() {
        return new Builder();
    }

    /** The spec of {@code node}'s op. */
    Optional<OpSpec> spec(Node node) {
        return spec(node.domain(), node.opType());
    }

    Optional<OpSpec> spec(String domain, String opType) {
        return Optional.ofNullable(specs.get(OpSpec.key(domain, opType)));
    }

    /** The ops with gradient rules, sorted: "Add" for ONNX ops, "com.microsoft:GatherGrad" style for others. */
    Set<String> supportedOps() {
        return supported;
    }

    /**
     * Whether input {@code i} of {@code node} may carry a gradient by its op's spec (true for ops without one: they
     * are reported unsupported if a gradient reaches them).
     */
    boolean differentiable(Node node, int i) {
        return spec(node).map(s -> s.differentiable(node, i)).orElse(true);
    }

    /** A copy with {@code spec} added or replacing the spec of the same op. */
    OpRegistry with(OpSpec spec) {
        Map<String, OpSpec> m = new LinkedHashMap<>(specs);
        m.put(spec.key(), spec);
        return new OpRegistry(m);
    }

    /**
     * A copy where {@code domain:opType} has {@code rule}; an op known already keeps its shape function and
     * differentiable inputs, narrowed by the rule's {@link GradientRule#isDifferentiableInput}.
     */
    OpRegistry withRule(String domain, String opType, GradientRule rule) {
        if (opType == null || opType.isEmpty() || rule == null) {
            throw new InvalidArgumentException("withRule needs an op type and a rule");
        }
        OpSpec old = specs.getOrDefault(OpSpec.key(domain, opType), OpSpec.of(domain, opType));
        return with(old.inputs(old.inputs().and(rule::isDifferentiableInput)).gradient(rule));
    }

    /** The error for {@code node}'s op having no usable rule, listing the supported ops. */
    UnsupportedOpException unsupported(Node node, String detail) {
        return new UnsupportedOpException(node.opType(), node.domain(), Engine.nodeName(node), supported, detail);
    }
}
