package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Removes the {@code Transpose} between a frozen 2-D weight and the {@code MatMul}s that use it (torch.onnx exports
 * every {@code nn.Linear} as {@code MatMul(x, Transpose(W))}): each such MatMul becomes
 * {@code com.microsoft.FusedMatMul(x, W, transB=1)}, the same product read from W itself.
 * <p>
 * Why: ONNX Runtime constant-folds {@code Transpose(initializer)} into a new in-memory initializer, so every frozen
 * weight was held twice per session (the memory-mapped original and an anonymous transposed copy), and with constant
 * folding off the transposes ran every step and were kept as activations for the backward pass. After this rewrite
 * the weight is only ever read from its memory-mapped external data, and the gradient towards x is
 * {@code FusedMatMul(dY, W)} — no transposed copy anywhere. Applied to the graph after LoRA injection and before
 * differentiation; trainable weights (graph inputs, not initializers) are left alone.
 */
final class FrozenTransposeFusion {
    private FrozenTransposeFusion() {}

    /** Rewrites {@code g} in place; returns the number of Transpose nodes removed. */
    static int apply(Graph g) {
        Map<String, List<Node>> consumers = g.consumerIndex();
        int removed = 0;
        for (Node t : List.copyOf(g.nodes())) {
            if (!t.opType().equals("Transpose")
                    || !t.isDefaultDomain()
                    || t.inputs().size() != 1
                    || t.outputs().size() != 1) {
                continue;
            }
            String w = t.input(0);
            Optional<TensorProto> init = g.initializer(w);
            if (init.isEmpty()
                    || init.get().getDimsCount() != 2
                    || init.get().getDataType() != DataType.FLOAT_VALUE
                    || !swapsTwoAxes(t)
                    || g.isOutput(t.output(0))
                    || g.isInput(w)) {
                continue;
            }
            List<Node> users = consumers.getOrDefault(t.output(0), List.of());
            if (users.isEmpty() || !users.stream().allMatch(u -> isPlainMatMulOnB(u, t.output(0)))) {
                continue;
            }
            for (Node u : users) {
                u.opType("FusedMatMul")
                        .domain(OnnxModel.MICROSOFT)
                        .inputs(u.input(0), w)
                        .attr("transB", 1L);
            }
            g.removeNode(t);
            removed++;
        }
        return removed;
    }

    private static boolean swapsTwoAxes(Node t) {
        Optional<AttributeProto> perm = t.attribute("perm");
        return perm.isEmpty() || perm.get().getIntsList().equals(List.of(1L, 0L));
    }

    private static boolean isPlainMatMulOnB(Node u, String tensor) {
        return u.opType().equals("MatMul")
                && u.isDefaultDomain()
                && u.inputs().size() == 2
                && u.input(1).equals(tensor)
                && !u.input(0).equals(tensor);
    }
}
