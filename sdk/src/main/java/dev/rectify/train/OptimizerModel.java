package dev.rectify.train;

import dev.rectify.onnx.Builders;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;

/**
 * The optimizer model ORT's training API expects (ort-training-facts.md §4.3): inputs exactly
 * {@code [learning_rate, step, params, gradients, first_order_moments, second_order_moments]}, one
 * {@code com.microsoft.AdamWOptimizer} with all six attributes explicit and torch.optim.AdamW semantics
 * ({@code adam_mode=0, correct_bias=1}), one bool [1] output. With clipping, the gradients are scaled to a global L2
 * norm of at most {@code max_norm} before AdamW, with a norm that does not depend on the sequence's order, so runs
 * are repeatable; see {@link #clipByGlobalNorm}.
 */
public final class OptimizerModel {
    public static final List<String> INPUTS =
            List.of("learning_rate", "step", "params", "gradients", "first_order_moments", "second_order_moments");
    public static final String OUTPUT = "adamw.updated_flag";

    private OptimizerModel() {}

    /**
     * Clips the gradient sequence to a global L2 norm of {@code maxNorm} (torch's clip_grad_norm_: scale =
     * min(1, maxNorm / (norm + 1e-6))), deterministically. ORT feeds the sequence in its parameter map's iteration
     * order, which differs from run to run, and its InplaceClipGradNorm sums the per-tensor norms in that order, so
     * clipped runs differed in the last bits. Here the per-tensor squares are sorted before they are summed: the norm,
     * hence the run, no longer depends on the order. Returns the name of the clipped sequence.
     */
    static String clipByGlobalNorm(GraphBuilder g, String gradients, float maxNorm) {
        GraphBuilder sq = GraphBuilder.create("square_norm")
                .input(Builders.tensorAnyShape("g", DataType.FLOAT))
                .output(Builders.tensorAnyShape("s", DataType.FLOAT));
        sq.node(Node.of("ReduceSumSquare", List.of("g"), List.of("s"))
                .name("ReduceSumSquare")
                .attr("keepdims", 0L));
        g.node(Node.of("SequenceMap", List.of(gradients), List.of("clip.squares"))
                .name("clip/Squares")
                .attr("body", sq.build()));
        g.node(Node.of("ConcatFromSequence", List.of("clip.squares"), List.of("clip.squares_vec"))
                .name("clip/Concat")
                .attr("axis", 0L)
                .attr("new_axis", 1L));
        g.node(Node.of("Shape", List.of("clip.squares_vec"), List.of("clip.count"))
                .name("clip/Count"));
        g.node(Node.of("TopK", List.of("clip.squares_vec", "clip.count"), List.of("clip.sorted", "clip.order"))
                .name("clip/Sort")
                .attr("largest", 1L)
                .attr("sorted", 1L));
        g.node(Node.of("ReduceSum", List.of("clip.sorted"), List.of("clip.total"))
                .name("clip/Total")
                .attr("keepdims", 0L));
        g.node(Node.of("Sqrt", List.of("clip.total"), List.of("clip.norm")).name("clip/Norm"));
        g.initializer(Tensors.scalar("clip.eps", 1e-6f));
        g.initializer(Tensors.scalar("clip.max_norm", maxNorm));
        g.initializer(Tensors.scalar("clip.one", 1f));
        g.node(Node.of("Add", List.of("clip.norm", "clip.eps"), List.of("clip.norm_eps"))
                .name("clip/AddEps"));
        g.node(Node.of("Div", List.of("clip.max_norm", "clip.norm_eps"), List.of("clip.ratio"))
                .name("clip/Ratio"));
        g.node(Node.of("Min", List.of("clip.ratio", "clip.one"), List.of("clip.scale"))
                .name("clip/Scale"));
        GraphBuilder mul = GraphBuilder.create("scale_gradient")
                .input(Builders.tensorAnyShape("g", DataType.FLOAT))
                .input(Builders.tensor("c", DataType.FLOAT))
                .output(Builders.tensorAnyShape("y", DataType.FLOAT));
        mul.node(Node.of("Mul", List.of("g", "c"), List.of("y")).name("Mul"));
        String clipped = gradients + ".clipped";
        g.node(Node.of("SequenceMap", List.of(gradients, "clip.scale"), List.of(clipped))
                .name("clip/Apply")
                .attr("body", mul.build()));
        return clipped;
    }

    /** The optimizer model for {@code plan}'s AdamW settings and clipping, decaying every parameter. */
    public static OnnxModel of(TrainingPlan plan) {
        return of(plan, true);
    }

    /**
     * The optimizer model for {@code plan}'s AdamW settings and clipping; {@code decay}: whether its AdamW node applies
     * the plan's weight decay (to every parameter: one attribute for all), else 0 (none, or the trainer decays only
     * the parameters that get it: {@link WeightDecay}).
     */
    public static OnnxModel of(TrainingPlan plan, boolean decay) {
        GraphBuilder g = GraphBuilder.create("rectify_adamw")
                .input("learning_rate", DataType.FLOAT, 1)
                .input("step", DataType.INT64, 1);
        for (String seq : INPUTS.subList(2, 6)) {
            g.input(Builders.valueInfo(seq, Builders.sequenceType(Builders.tensorTypeAnyShape(DataType.FLOAT))));
        }
        String grads = "gradients";
        if (plan.maxGradNorm() > 0 && plan.deterministicClipping()) {
            grads = clipByGlobalNorm(g, "gradients", (float) plan.maxGradNorm());
        } else if (plan.maxGradNorm() > 0) {
            grads = "gradients.clipped";
            g.node(Node.of("InplaceClipGradNorm", List.of("gradients"), List.of(grads))
                    .domain(OnnxModel.MICROSOFT)
                    .name("ClipGradNorm")
                    .attr("max_norm", (float) plan.maxGradNorm())
                    .attr("norm_type", "fro"));
        }
        g.node(Node.of(
                        "AdamWOptimizer",
                        List.of(
                                "learning_rate",
                                "step",
                                "params",
                                grads,
                                "first_order_moments",
                                "second_order_moments"),
                        List.of(OUTPUT))
                .domain(OnnxModel.MICROSOFT)
                .name("AdamWOptimizer")
                .attr("alpha", (float) plan.beta1())
                .attr("beta", (float) plan.beta2())
                .attr("epsilon", (float) plan.epsilon())
                .attr("weight_decay", decay ? (float) plan.weightDecay() : 0f)
                .attr("adam_mode", 0L)
                .attr("correct_bias", 1L));
        g.output(OUTPUT, DataType.BOOL, 1);
        return ModelBuilder.create()
                .irVersion(8)
                .opset("", 17)
                .opset(OnnxModel.MICROSOFT, 1)
                .graph(g)
                .build();
    }
}
