package dev.rectify.lora;

import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.BlockQuantized;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.HalfTensors;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The inference variant of LoRA injection: every target projection gets y' = y + ((x·Aᵀ)·s)·Bᵀ (a fused op's packed
 * weight, com.microsoft Attention's, gets W' = W + (Aᵀ·Bᵀ)·s instead) where A [r, in],
 * B [out, r] and the scale s [1] are optional graph inputs (PEFT names for A and B, {@link ServingLayout#SCALE_INPUT}
 * for s) whose default initializers are A [0, in], B [out, 0] and s = 0. A request without an adapter therefore
 * computes the base function (the branch adds exact zeros), and an ORT LoRA adapter whose parameters carry A, B
 * and s overrides the defaults by name for one run; r is a symbolic dimension, so any rank fits.
 */
public final class MultiLoraGraph {
    private MultiLoraGraph() {}

    /** The serving model and its layout. */
    public record Built(OnnxModel model, ServingLayout layout) {}

    /** Injects optional LoRA inputs into every projection of {@code base} whose module ends in one of {@code targetModules}. */
    public static Built build(OnnxModel base, Set<String> targetModules) {
        Graph g = base.graph();
        Map<String, Node> byName = ServingTargets.nameNodesUniquely(g, "/lora_serve/node_");
        List<LoraTarget> targets = ServingTargets.projections(g, targetModules);
        if (targets.isEmpty()) {
            throw new NoLoraTargetException("no projection for modules " + targetModules + " in the model: nothing an "
                    + "adapter could adapt");
        }
        g.addInput(Builders.tensor(ServingLayout.SCALE_INPUT, DataType.FLOAT, 1));
        g.addInitializer(Tensors.ofFloats(ServingLayout.SCALE_INPUT, new float[] {0f}, 1));
        Map<String, LoraSlot> slots = new LinkedHashMap<>();
        for (LoraTarget t : targets) {
            LoraSlot slot = slots.get(t.module());
            if (slot == null) {
                slot = new LoraSlot(t.module(), t.inFeatures(), t.outFeatures());
                slots.put(t.module(), slot);
                String r = "lora_r." + t.module();
                g.addInput(Builders.tensor(slot.loraA(), DataType.FLOAT, r, t.inFeatures()));
                g.addInitializer(Tensors.ofFloats(slot.loraA(), new float[0], 0, t.inFeatures()));
                g.addInput(Builders.tensor(slot.loraB(), DataType.FLOAT, t.outFeatures(), r));
                g.addInitializer(Tensors.ofFloats(slot.loraB(), new float[0], t.outFeatures(), 0));
            } else if (slot.inFeatures() != t.inFeatures() || slot.outFeatures() != t.outFeatures()) {
                throw new ModelFormatException("module " + t.module() + " is used by projections of different shapes");
            }
            Node node = byName.get(t.nodeName());
            if (LoraInjector.isPackedWeightOp(node)) {
                rewireWeight(g, node, slot, weightType(g, t.baseWeight()));
            } else {
                // a 4-bit MatMulNBits computes in its scales' type
                rewire(
                        g,
                        node,
                        slot,
                        weightType(g, BlockQuantized.isMatMulNBits(node) ? node.input(2) : t.baseWeight()));
            }
        }
        return new Built(base.withGraph(g), new ServingLayout(new ArrayList<>(slots.values())));
    }

    private static int weightType(Graph g, String weight) {
        return g.initializer(weight)
                .map(TensorProto::getDataType)
                .orElse(g.input(weight)
                        .map(v -> v.getType().getTensorType().getElemType())
                        .orElse(DataType.FLOAT_VALUE));
    }

    /**
     * A fused op's weight input becomes W' = W + ((Aᵀ·Bᵀ)·s), formed in float32 and rounded once to the weight's type
     * as {@link LoraMerge} merges it; without an adapter the delta is [in, out] zeros and W' = W.
     */
    private static void rewireWeight(Graph g, Node node, LoraSlot s, int weightType) {
        String p = "/lora_serve/" + s.module() + "/";
        String w0 = node.input(1);
        boolean half = HalfTensors.isHalf(weightType);
        List<Node> added = new ArrayList<>();
        String w = w0;
        if (half) {
            w = g.uniqueName(p + "weight_float");
            added.add(Node.of("Cast", List.of(w0), List.of(w))
                    .attr("to", (long) DataType.FLOAT_VALUE)
                    .name(g.uniqueName(p + "CastWeight")));
        }
        String at = g.uniqueName(p + "A_T");
        String bt = g.uniqueName(p + "B_T");
        String ab = g.uniqueName(p + "AB");
        String abs = g.uniqueName(p + "AB_scaled");
        String sum = g.uniqueName(p + "weight_adapted");
        added.addAll(List.of(
                Node.of("Transpose", List.of(s.loraA()), List.of(at))
                        .attrInts("perm", 1, 0)
                        .name(g.uniqueName(p + "TransposeA")),
                Node.of("Transpose", List.of(s.loraB()), List.of(bt))
                        .attrInts("perm", 1, 0)
                        .name(g.uniqueName(p + "TransposeB")),
                Node.of("MatMul", List.of(at, bt), List.of(ab)).name(g.uniqueName(p + "MatMulAB")),
                Node.of("Mul", List.of(ab, ServingLayout.SCALE_INPUT), List.of(abs))
                        .name(g.uniqueName(p + "Scale")),
                Node.of("Add", List.of(w, abs), List.of(sum)).name(g.uniqueName(p + "AddWeight"))));
        if (half) {
            String back = g.uniqueName(p + "weight_adapted_half");
            added.add(Node.of("Cast", List.of(sum), List.of(back))
                    .attr("to", (long) weightType)
                    .name(g.uniqueName(p + "CastBack")));
            sum = back;
        }
        node.inputs().set(1, sum);
        g.nodes().addAll(g.nodes().indexOf(node), added);
    }

    /**
     * y' = y + delta after {@code node}. On a float16/bfloat16 projection the branch runs in float32 (the adapter's
     * own precision): x is cast up and delta cast back to the weight's type before the Add.
     */
    private static void rewire(Graph g, Node node, LoraSlot s, int weightType) {
        String x0 = node.input(0);
        String y = node.output(0);
        String base = g.uniqueName(y + ".lora_base");
        node.outputs().set(0, base);
        String p = "/lora_serve/" + s.module() + "/";
        boolean half = HalfTensors.isHalf(weightType);
        List<Node> casts = new ArrayList<>();
        String x = x0;
        if (half) {
            x = g.uniqueName(p + "x_float");
            casts.add(Node.of("Cast", List.of(x0), List.of(x))
                    .attr("to", (long) DataType.FLOAT_VALUE)
                    .name(g.uniqueName(p + "CastX")));
        }
        String at = g.uniqueName(p + "A_T");
        String xa = g.uniqueName(p + "xA");
        String xas = g.uniqueName(p + "xA_scaled");
        String bt = g.uniqueName(p + "B_T");
        String d = g.uniqueName(p + "delta");
        List<Node> added = new ArrayList<>(casts);
        added.addAll(List.of(
                Node.of("Transpose", List.of(s.loraA()), List.of(at))
                        .attrInts("perm", 1, 0)
                        .name(g.uniqueName(p + "TransposeA")),
                Node.of("MatMul", List.of(x, at), List.of(xa)).name(g.uniqueName(p + "MatMulA")),
                Node.of("Mul", List.of(xa, ServingLayout.SCALE_INPUT), List.of(xas))
                        .name(g.uniqueName(p + "Scale")),
                Node.of("Transpose", List.of(s.loraB()), List.of(bt))
                        .attrInts("perm", 1, 0)
                        .name(g.uniqueName(p + "TransposeB")),
                Node.of("MatMul", List.of(xas, bt), List.of(d)).name(g.uniqueName(p + "MatMulB"))));
        if (half) {
            String dh = g.uniqueName(p + "delta_half");
            added.add(Node.of("Cast", List.of(d), List.of(dh))
                    .attr("to", (long) weightType)
                    .name(g.uniqueName(p + "CastDelta")));
            d = dh;
        }
        added.add(Node.of("Add", List.of(base, d), List.of(y)).name(g.uniqueName(p + "Add")));
        g.nodes().addAll(g.nodes().indexOf(node) + 1, added);
    }
}
