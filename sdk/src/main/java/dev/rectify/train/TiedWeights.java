package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.LazyWeights;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Undoes an exporter's duplication of a tied weight. Constant folding turns a tied embedding E [V, H] (read by
 * {@code Gather}) and its head {@code MatMul(h, Transpose(E))} into E plus a folded copy Eᵀ [H, V] (Optimum's
 * default for Qwen2.5, Llama-3.2, Gemma). Trained as two tensors they would drift apart; here the copy is replaced
 * by {@code Transpose(E)}, so E is one parameter whose gradient is the sum of both uses — exactly what the unfolded
 * model computes. Only an exact element-wise transpose of a {@code Gather}ed initializer counts.
 */
final class TiedWeights {
    private TiedWeights() {}

    /** Rewires every folded transposed copy to {@code Transpose(original)}; returns copy → original. */
    static Map<String, String> retie(Graph g) {
        Map<String, String> tied = new LinkedHashMap<>();
        Map<String, List<Node>> consumers = g.consumerIndex();
        List<TensorProto> embeddings = new ArrayList<>();
        List<TensorProto> others = new ArrayList<>();
        for (TensorProto t : g.initializers().values()) {
            if (t.getDataType() != DataType.FLOAT_VALUE || t.getDimsCount() != 2) {
                continue;
            }
            List<Node> users = consumers.getOrDefault(t.getName(), List.of());
            if (users.stream()
                    .anyMatch(n -> n.opType().equals("Gather") && n.input(0).equals(t.getName()))) {
                embeddings.add(t);
            } else {
                others.add(t);
            }
        }
        for (TensorProto e : embeddings) {
            float[] ev = null;
            for (TensorProto c : others) {
                if (tied.containsKey(c.getName()) || c.getDims(0) != e.getDims(1) || c.getDims(1) != e.getDims(0)) {
                    continue;
                }
                if (ev == null) {
                    ev = Tensors.toFloatArray(LazyWeights.load(e));
                }
                if (isTranspose(
                        ev, (int) e.getDims(0), (int) e.getDims(1), Tensors.toFloatArray(LazyWeights.load(c)))) {
                    tied.put(c.getName(), e.getName());
                }
            }
        }
        for (Map.Entry<String, String> t : tied.entrySet()) {
            g.removeInitializer(t.getKey());
            g.insertNode(
                    0,
                    Node.of("Transpose", List.of(t.getValue()), List.of(t.getKey()))
                            .attrInts("perm", 1, 0)
                            .name(g.uniqueName("/tied/" + t.getValue() + "/Transpose")));
        }
        return tied;
    }

    /** Whether c [cols, rows] equals eᵀ for e [rows, cols], bit for bit. */
    private static boolean isTranspose(float[] e, int rows, int cols, float[] c) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                if (Float.floatToRawIntBits(e[i * cols + j]) != Float.floatToRawIntBits(c[j * rows + i])) {
                    return false;
                }
            }
        }
        return true;
    }
}
