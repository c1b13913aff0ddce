package dev.rectify.train;

import dev.rectify.onnx.BlockQuantized;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.UnsupportedQuantizationException;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a 4-bit base (QLoRA): every {@code MatMulNBits} and {@code GatherBlockQuantized} weight must have a layout
 * the backward graph can dequantize ({@link BlockQuantized}); the quantized weights stay frozen, so only LoRA
 * trains on such a base.
 */
final class QuantizedBase {
    private QuantizedBase() {}

    /** The quantized nodes of {@code g}, each checked; throws {@link UnsupportedQuantizationException}. */
    static List<Node> check(Graph g) {
        List<Node> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (BlockQuantized.isMatMulNBits(n)) {
                BlockQuantized.matMulNBits(g, n);
                out.add(n);
            } else if (BlockQuantized.isGatherBlockQuantized(n)) {
                BlockQuantized.checkGatherBlockQuantized(g, n);
                out.add(n);
            }
        }
        return out;
    }

    /** Refuses full fine-tuning of a quantized base: its 4-bit weights cannot be trained. */
    static void checkPlan(List<Node> quantized, TrainingPlan plan) {
        if (!quantized.isEmpty() && plan.mode() == TrainingPlan.Mode.FULL) {
            throw new UntrainableModelException("the base model has " + quantized.size()
                    + " 4-bit quantized weight(s) ("
                    + quantized.get(0).describe() + ", ...): they stay frozen, so it can be fine-tuned with LoRA "
                    + "(QLoRA) only. Use a LoRA plan, or fully fine-tune the float base");
        }
    }
}
