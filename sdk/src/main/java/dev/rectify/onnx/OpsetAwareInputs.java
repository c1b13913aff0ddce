package dev.rectify.onnx;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto.AttributeType;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reads parameters that moved from attributes to inputs across ONNX opsets, for one graph at one default-domain
 * opset: Reduce* axes (ReduceSum since 13, the others since 18), Squeeze/Unsqueeze axes (13), Split split (13)
 * and num_outputs (18), Slice starts/ends/axes/steps (10), Pad pads/constant_value (11) and axes (18), Clip
 * min/max (11), Dropout ratio (12). Constant inputs (initializers, Constant nodes) are resolved to values.
 */
public final class OpsetAwareInputs {
    private static final Map<String, Integer> AXES_SINCE = Map.ofEntries(
            Map.entry("ReduceSum", 13),
            Map.entry("Squeeze", 13),
            Map.entry("Unsqueeze", 13),
            Map.entry("ReduceMean", 18),
            Map.entry("ReduceMax", 18),
            Map.entry("ReduceMin", 18),
            Map.entry("ReduceProd", 18),
            Map.entry("ReduceL1", 18),
            Map.entry("ReduceL2", 18),
            Map.entry("ReduceLogSum", 18),
            Map.entry("ReduceLogSumExp", 18),
            Map.entry("ReduceSumSquare", 18));

    private final Graph graph;
    private final int opset;

    /** For nodes of {@code graph} under default-domain opset {@code opset}. */
    public OpsetAwareInputs(Graph graph, int opset) {
        this.graph = graph;
        this.opset = opset;
    }

    /** For the main graph of {@code model} at its default-domain opset (the graph is a fresh view). */
    public static OpsetAwareInputs of(OnnxModel model) {
        return new OpsetAwareInputs(model.graph(), model.opsetVersion(""));
    }

    public int opset() {
        return opset;
    }

    /** The opset from which {@code opType}'s axes are an input; empty for ops without axes handled here. */
    public static Optional<Integer> axesInputSince(String opType) {
        return Optional.ofNullable(AXES_SINCE.get(opType));
    }

    /** The axes of a Reduce*, Squeeze or Unsqueeze node. ABSENT means the op's default (all axes / none). */
    public ResolvedInput axes(Node node) {
        Integer since = AXES_SINCE.get(node.opType());
        if (since == null || !node.isDefaultDomain()) {
            throw new InvalidArgumentException(node.describe() + ": axes are resolved only for " + AXES_SINCE.keySet());
        }
        return resolve(node, "axes", 1, since);
    }

    /** Split's sizes ({@code split}): attribute before opset 13, input 1 since. */
    public ResolvedInput split(Node node) {
        expect(node, "Split");
        return resolve(node, "split", 1, 13);
    }

    /** Split's {@code num_outputs} attribute (opset 18+); empty when absent or before 18. */
    public OptionalLong splitNumOutputs(Node node) {
        expect(node, "Split");
        if (opset < 18 || !node.hasAttribute("num_outputs")) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Attributes.requireInt(node, "num_outputs"));
    }

    /** Slice's {@code part}: "starts", "ends", "axes" or "steps" (inputs 1-4 since opset 10; no steps before). */
    public ResolvedInput slice(Node node, String part) {
        expect(node, "Slice");
        int index = switch (part) {
            case "starts" -> 1;
            case "ends" -> 2;
            case "axes" -> 3;
            case "steps" -> 4;
            default ->
                throw new InvalidArgumentException("Slice has no part '" + part + "'; use starts, ends, axes or steps");
        };
        if (opset < 10 && part.equals("steps")) {
            return ResolvedInput.absent(what(node, part));
        }
        return resolve(node, part, index, 10);
    }

    /** Pad's pads: attribute {@code pads} before opset 11, input 1 since. */
    public ResolvedInput pads(Node node) {
        expect(node, "Pad");
        return resolve(node, "pads", 1, 11);
    }

    /** Pad's constant value: attribute {@code value} before opset 11, input 2 since. */
    public ResolvedInput padValue(Node node) {
        expect(node, "Pad");
        return resolve(node, "value", 2, 11);
    }

    /** Pad's axes: input 3 since opset 18, absent before. */
    public ResolvedInput padAxes(Node node) {
        expect(node, "Pad");
        return opset < 18 ? ResolvedInput.absent(what(node, "axes")) : resolve(node, "axes", 3, 18);
    }

    /** Clip's min: attribute before opset 11, input 1 since. */
    public ResolvedInput clipMin(Node node) {
        expect(node, "Clip");
        return resolve(node, "min", 1, 11);
    }

    /** Clip's max: attribute before opset 11, input 2 since. */
    public ResolvedInput clipMax(Node node) {
        expect(node, "Clip");
        return resolve(node, "max", 2, 11);
    }

    /** Dropout's ratio: attribute before opset 12, input 1 since. */
    public ResolvedInput dropoutRatio(Node node) {
        expect(node, "Dropout");
        return resolve(node, "ratio", 1, 12);
    }

    /**
     * The general rule: before {@code sinceOpset}, attribute {@code name}; from it on, input {@code inputIndex},
     * constant when it is an initializer (not also a graph input) or a Constant node's output.
     */
    public ResolvedInput resolve(Node node, String name, int inputIndex, int sinceOpset) {
        String what = what(node, name);
        if (opset < sinceOpset) {
            Optional<AttributeProto> a = node.attribute(name);
            if (a.isEmpty()) {
                return ResolvedInput.absent(what);
            }
            AttributeType type = Attributes.typeOf(a.get());
            return switch (type) {
                case INTS -> ResolvedInput.ofInts(what, Attributes.longs(a.get()));
                case INT -> ResolvedInput.ofInts(what, new long[] {a.get().getI()});
                case FLOATS -> ResolvedInput.ofFloats(what, Attributes.floats(a.get()));
                case FLOAT -> ResolvedInput.ofFloats(what, new float[] {a.get().getF()});
                default -> throw new InvalidGraphException(what + ": attribute is " + type + ", expected numbers");
            };
        }
        String input = node.input(inputIndex);
        if (input.isEmpty()) {
            return ResolvedInput.absent(what);
        }
        Optional<TensorProto> c = graph.constant(input);
        return c.isPresent() ? ResolvedInput.ofTensor(what, input, c.get()) : ResolvedInput.dynamic(what, input);
    }

    private static String what(Node node, String name) {
        return node.describe() + " " + name;
    }

    private static void expect(Node node, String opType) {
        if (!node.opType().equals(opType) || !node.isDefaultDomain()) {
            throw new InvalidArgumentException(node.describe() + " is not an ONNX " + opType + " node");
        }
    }
}
