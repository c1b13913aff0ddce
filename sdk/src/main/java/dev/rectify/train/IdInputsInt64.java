package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.List;

/**
 * Training feeds {@code input_ids}, {@code attention_mask} and {@code position_ids} as int64. A graph that takes them
 * as int32 (ONNX Runtime's transformers optimizer, some GenAI builds) gets int64 inputs of the same names, each cast to
 * int32 where the graph used it; the values fit, since token ids, mask bits and positions are far below 2^31.
 */
final class IdInputsInt64 {
    static final List<String> NAMES = List.of("input_ids", "attention_mask", "position_ids");

    private IdInputsInt64() {}

    /** Rewrites {@code g} in place; returns how many inputs were widened. */
    static int widen(Graph g) {
        int widened = 0;
        for (String name : NAMES) {
            ValueInfoProto v = g.input(name).orElse(null);
            if (v == null
                    || !v.getType().hasTensorType()
                    || v.getType().getTensorType().getElemType() != DataType.INT32_VALUE) {
                continue;
            }
            String inner = g.uniqueName(name + "/int32");
            g.renameTensor(name, inner);
            int at = g.inputNames().indexOf(inner);
            ValueInfoProto.Builder b = v.toBuilder().setName(name);
            b.getTypeBuilder().getTensorTypeBuilder().setElemType(DataType.INT64_VALUE);
            g.inputs().set(at, b.build());
            g.insertNode(
                    0,
                    Node.of("Cast", List.of(name), List.of(inner))
                            .attr("to", (long) DataType.INT32_VALUE)
                            .name(g.uniqueName("/int64_inputs/Cast_" + name)));
            widened++;
        }
        return widened;
    }
}
