package dev.rectify.train;

import dev.rectify.onnx.Builders;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;

/**
 * The optimizer model ORT's training API expects (ort-training-facts.md §4.3): inputs exactly
 * {@code [learning_rate, step, params, gradients, first_order_moments, second_order_moments]}, one
 * {@code com.microsoft.AdamWOptimizer} with all six attributes explicit and torch.optim.AdamW semantics
 * ({@code adam_mode=0, correct_bias=1}), one bool [1] output. With clipping, a {@code com.microsoft.InplaceClipGradNorm}
 * (Frobenius norm over the whole gradient sequence, i.e. the global L2 norm) feeds AdamW the clipped gradients;
 * verified on ORT 1.24.1 CPU: after one step the first moment gives a clipped norm equal to {@code max_norm}
 * to 1e-7 relative, from a pre-clip norm of 4.23 and max 0.05.
 */
public final class OptimizerModel {
    public static final List<String> INPUTS = List.of("learning_rate", "step", "params", "gradients",
            "first_order_moments", "second_order_moments");
    public static final String OUTPUT = "adamw.updated_flag";

    private OptimizerModel() {
    }

    /** The optimizer model for {@code plan}'s AdamW settings and clipping. */
    public static OnnxModel of(TrainingPlan plan) {
        GraphBuilder g = GraphBuilder.create("rectify_adamw")
                .input("learning_rate", DataType.FLOAT, 1)
                .input("step", DataType.INT64, 1);
        for (String seq : INPUTS.subList(2, 6)) {
            g.input(Builders.valueInfo(seq, Builders.sequenceType(Builders.tensorTypeAnyShape(DataType.FLOAT))));
        }
        String grads = "gradients";
        if (plan.maxGradNorm() > 0) {
            grads = "gradients.clipped";
            g.node(Node.of("InplaceClipGradNorm", List.of("gradients"), List.of(grads)).domain(OnnxModel.MICROSOFT)
                    .name("ClipGradNorm").attr("max_norm", (float) plan.maxGradNorm()).attr("norm_type", "fro"));
        }
        g.node(Node.of("AdamWOptimizer", List.of("learning_rate", "step", "params", grads, "first_order_moments",
                "second_order_moments"), List.of(OUTPUT)).domain(OnnxModel.MICROSOFT).name("AdamWOptimizer")
                .attr("alpha", (float) plan.beta1())
                .attr("beta", (float) plan.beta2())
                .attr("epsilon", (float) plan.epsilon())
                .attr("weight_decay", (float) plan.weightDecay())
                .attr("adam_mode", 0L)
                .attr("correct_bias", 1L));
        g.output(OUTPUT, DataType.BOOL, 1);
        return ModelBuilder.create().irVersion(8).opset("", 17).opset(OnnxModel.MICROSOFT, 1).graph(g).build();
    }
}
