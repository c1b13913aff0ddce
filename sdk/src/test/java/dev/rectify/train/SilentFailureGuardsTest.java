package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.autodiff.Autodiff;
import dev.rectify.autodiff.GradientRequest;
import dev.rectify.autodiff.GradientResult;
import dev.rectify.core.Objective;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each guard against training that would silently do the wrong thing fires (issue 10 item 8). */
class SilentFailureGuardsTest {
    @TempDir
    Path tmp;

    static final String SHAPE_ONLY = "model.attn_bias_table";

    static TrainingArtifacts build(OnnxModel m, TrainingPlan plan, Path dir) {
        return ArtifactBuilder.defaults().build(m, "test", plan, dir);
    }

    /** TinyLlama whose logits get + ReduceSum(ConstantOfShape(Shape(W))) for a rank-2 float W: used, but only for its shape. */
    static OnnxModel withShapeOnlyWeight() {
        OnnxModel m = TinyLlama.build(1, false);
        Graph g = m.graph();
        g.renameTensor("logits", "logits_raw");
        g.addInitializer(Tensors.ofFloats(SHAPE_ONLY, new float[16], 4, 4));
        g.addNode(Node.of("Shape", List.of(SHAPE_ONLY), List.of("bias_shape")).name("/bias/Shape"));
        g.addNode(Node.of("ConstantOfShape", List.of("bias_shape"), List.of("bias_zeros"))
                .name("/bias/ConstantOfShape")
                .attr("value", Tensors.ofFloats("value", new float[] {0f}, 1)));
        g.addNode(Node.of("ReduceSum", List.of("bias_zeros"), List.of("bias_sum"))
                .attr("keepdims", 0L)
                .name("/bias/ReduceSum"));
        g.addNode(Node.of("Add", List.of("logits_raw", "bias_sum"), List.of("logits"))
                .name("/bias/Add"));
        g.addOutput(Builders.tensor("logits", DataType.FLOAT, "batch", "sequence", TinyLlama.VOCAB));
        g.removeOutput("logits_raw");
        return m.withGraph(g);
    }

    @Test
    void selectedTensorWithoutPathToTheLossIsAnError() {
        TrainingPlan plan = TrainingPlan.builder()
                .fullFineTuning("attn_bias_table|down_proj")
                .objective(Objective.SFT)
                .build();
        UntrainableModelException e = assertThrows(
                UntrainableModelException.class, () -> build(withShapeOnlyWeight(), plan, tmp.resolve("a")));
        assertTrue(e.getMessage().contains(SHAPE_ONLY) && e.getMessage().contains("zero gradients"), e.getMessage());
        // the default selection leaves it out: it is not a weight of the function
        TrainingArtifacts a = build(
                withShapeOnlyWeight(), TrainingPlan.builder().fullFineTuning().build(), tmp.resolve("b"));
        assertFalse(
                a.trainableParameters().contains(SHAPE_ONLY),
                a.trainableParameters().toString());
        assertTrue(a.trainableParameters().contains("model.layers.0.mlp.down_proj.weight"));
    }

    @Test
    void autodiffReportsUnreachedParameters() {
        GraphBuilder b = GraphBuilder.create("g");
        b.input(Builders.tensor("x", DataType.FLOAT, 2, 2));
        b.initializer(Tensors.ofFloats("W", new float[4], 2, 2));
        b.initializer(Tensors.ofFloats("U", new float[4], 2, 2));
        b.node(Node.of("MatMul", List.of("x", "W"), List.of("y")));
        b.node(Node.of("Shape", List.of("U"), List.of("s")));
        b.node(Node.of("ReduceSum", List.of("y"), List.of("loss")).attr("keepdims", 0L));
        b.output(Builders.tensor("loss", DataType.FLOAT));
        b.output(Builders.tensor("s", DataType.INT64, 2));
        Graph g = Graph.fromProto(b.build());
        GradientResult r = Autodiff.withDefaultRules()
                .differentiate(g, 17, GradientRequest.ofScalarLoss("loss", List.of("W", "U")));
        assertEquals(Set.of("U"), r.unreached());
        assertFalse(
                Differentiator.autodiff()
                        .differentiate(
                                Graph.fromProto(b.build()), 17, Map.of("loss", GradientRequest.ONES), List.of("W", "U"))
                        .containsKey("U"),
                "the builder's differentiator leaves an unreached parameter out, so the builder refuses it");
    }

    /** An If whose branches read {@code param} from the outer scope. */
    static OnnxModel withIfReading(String param) {
        OnnxModel m = TinyLlama.build(1, false);
        Graph g = m.graph();
        g.addInitializer(Tensors.ofBooleans("cond", new boolean[] {true}, 1));
        Graph branch = Graph.empty("branch");
        branch.addNode(
                Node.of("Identity", List.of(param), List.of("branch_out")).name("/branch/Identity"));
        branch.addOutput(Builders.tensor("branch_out", DataType.FLOAT, null, null));
        g.addNode(Node.of("If", List.of("cond"), List.of("if_out"))
                .name("/control/If")
                .attr("then_branch", branch.toProto())
                .attr("else_branch", branch.toProto()));
        return m.withGraph(g);
    }

    @Test
    void parameterReadInsideControlFlowIsRefused() {
        String p = "model.layers.0.mlp.down_proj.weight";
        for (TrainingPlan plan : List.of(
                TrainingPlan.builder().fullFineTuning().build(),
                TrainingPlan.builder().fullFineTuning("down_proj").build())) {
            UntrainableModelException e = assertThrows(
                    UntrainableModelException.class, () -> build(withIfReading(p), plan, tmp.resolve("c")));
            assertTrue(e.getMessage().contains(p) && e.getMessage().contains("/control/If"), e.getMessage());
        }
        // frozen weights may be read there: LoRA trains A and B only
        TrainingArtifacts a = build(withIfReading(p), TrainingPlan.builder().build(), tmp.resolve("d"));
        assertFalse(a.trainableParameters().isEmpty());
    }

    @Test
    void fullFineTuningByDefaultTrainsOnlyRank2FloatWeights() {
        OnnxModel m = TinyLlama.build(1, false);
        TrainingArtifacts a = build(m, TrainingPlan.builder().fullFineTuning().build(), tmp.resolve("e"));
        long rank2 = m.graph().initializers().values().stream()
                .filter(t -> t.getDataType() == DataType.FLOAT_VALUE && t.getDimsCount() >= 2)
                .count();
        assertEquals(
                rank2, a.trainableParameters().size(), a.trainableParameters().toString());
        for (String n : a.trainableParameters()) {
            TensorProto t = m.graph().initializer(n).orElseThrow();
            assertTrue(t.getDimsCount() >= 2, n + " has rank " + t.getDimsCount());
        }
        assertFalse(a.trainableParameters().contains("model.norm.weight"));
    }
}
