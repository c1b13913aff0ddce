package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.TensorShapeProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Makes a with-past export (the KV cache among its inputs: Optimum's {@code past_key_values.N.key/value}, GenAI's
 * {@code past_key_values.N.*} or stacked {@code past_N} [2, batch, heads, past, head_dim]) trainable: training runs
 * without a cache, so each past input becomes a zero-length tensor of the batch's size, built in the graph from
 * {@code input_ids}' shape ({@code ConstantOfShape}); the attention then sees only the current tokens, exactly as
 * the no-past export does. Past inputs nothing reads are removed; the {@code present.*} outputs are dropped.
 */
final class EmptyPastFeeder {
    private static final Pattern PAST =
            Pattern.compile("^(past_key_values[._].*|past\\..*|past_\\d+|past_key_\\d+|past_value_\\d+)$");
    private static final Pattern PRESENT =
            Pattern.compile("^(present[._].*|present_\\d+|present_key_\\d+|present_value_\\d+)$");

    private EmptyPastFeeder() {}

    /** Whether {@code input} names a KV-cache input. */
    static boolean isPast(String input) {
        return PAST.matcher(input).matches();
    }

    /** Replaces the past inputs of {@code g}; returns their names (empty when it has none). */
    static List<String> feedEmpty(Graph g) {
        List<String> past =
                g.inputNames().stream().filter(EmptyPastFeeder::isPast).toList();
        if (past.isEmpty()) {
            return past;
        }
        if (!g.isInput("input_ids")) {
            throw new UntrainableModelException("the model takes a KV cache (" + past.get(0) + ") but no 'input_ids' "
                    + "to size an empty cache from; export the decoder without past key/values");
        }
        String batch = null;
        for (String p : past) {
            ValueInfoProto v = g.input(p).orElseThrow();
            boolean read = !g.consumers(p).isEmpty()
                    || g.nodes().stream().anyMatch(n -> n.implicitInputs().contains(p));
            g.removeInput(p);
            if (!read) {
                continue;
            }
            if (batch == null) {
                batch = batchSize(g);
            }
            emptyOf(g, v, batch);
        }
        g.outputs().removeIf(o -> PRESENT.matcher(o.getName()).matches());
        return past;
    }

    private static String batchSize(Graph g) {
        String shape = g.uniqueName("/empty_past/input_ids_shape");
        String zero = g.uniqueName("/empty_past/zero");
        String batch = g.uniqueName("/empty_past/batch");
        g.addInitializer(Tensors.ofLongs(zero, new long[] {0}, 1));
        g.insertNode(0, Node.of("Shape", List.of("input_ids"), List.of(shape)).name(g.uniqueName("/empty_past/Shape")));
        g.insertNode(
                1,
                Node.of("Gather", List.of(shape, zero), List.of(batch))
                        .attr("axis", 0L)
                        .name(g.uniqueName("/empty_past/Gather")));
        return batch;
    }

    /** {@code ConstantOfShape} named like the input: its dims with batch from {@code batch} and 0 past positions. */
    private static void emptyOf(Graph g, ValueInfoProto v, String batch) {
        String name = v.getName();
        if (!v.getType().hasTensorType() || !v.getType().getTensorType().hasShape()) {
            throw new UntrainableModelException("KV-cache input '" + name + "' has no declared shape; cannot build an "
                    + "empty cache for training. Export the decoder without past key/values");
        }
        int elem = v.getType().getTensorType().getElemType();
        TensorShapeProto s = v.getType().getTensorType().getShape();
        int rank = s.getDimCount();
        // [batch, heads, past, head_dim] or stacked [2, batch, heads, past, head_dim]
        int batchAxis = rank == 5 ? 1 : 0;
        int pastAxis = rank - 2;
        if (rank != 4 && rank != 5) {
            throw new UntrainableModelException("KV-cache input '" + name + "' has rank " + rank + "; expected "
                    + "[batch, heads, past, head_dim] or [2, batch, heads, past, head_dim]");
        }
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < rank; i++) {
            if (i == batchAxis) {
                parts.add(batch);
                continue;
            }
            long d;
            if (i == pastAxis) {
                d = 0;
            } else if (s.getDim(i).hasDimValue()) {
                d = s.getDim(i).getDimValue();
            } else {
                throw new UntrainableModelException("KV-cache input '" + name + "': dimension " + i + " ('"
                        + s.getDim(i).getDimParam() + "') is not a fixed number; cannot build an empty cache. Export "
                        + "with fixed heads and head_dim, or without past key/values");
            }
            String c = g.uniqueName("/empty_past/" + name + "_dim" + i);
            g.addInitializer(Tensors.ofLongs(c, new long[] {d}, 1));
            parts.add(c);
        }
        String shape = g.uniqueName("/empty_past/" + name + "_shape");
        int at = g.nodes().indexOf(g.producer(batch).orElseThrow()) + 1;
        g.insertNode(
                at,
                Node.of("Concat", parts, List.of(shape))
                        .attr("axis", 0L)
                        .name(g.uniqueName("/empty_past/Concat_" + name)));
        g.insertNode(
                at + 1,
                Node.of("ConstantOfShape", List.of(shape), List.of(name))
                        .attr(
                                "value",
                                Tensors.ofRaw(
                                        "value", DataType.forNumber(elem), new byte[Tensors.elementSize(elem)], 1))
                        .name(g.uniqueName("/empty_past/ConstantOfShape_" + name)));
    }
}
