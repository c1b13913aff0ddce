package dev.rectify.lora;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.HalfTensors;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.List;
import java.util.Map;

/**
 * Folds LoRA weights into a base model's projection weights: W' = W + (alpha/r)·B·A (or its transpose for
 * exports that store weights pre-transposed), giving a standalone model with the adapter's exact function.
 */
public final class LoraMerge {
    private LoraMerge() {}

    /**
     * Returns a copy of {@code base} with the adapter merged. {@code weights} holds PEFT-named A [r, in] and
     * B [out, r] tensors for each target module found in the graph by {@code config}'s target modules.
     */
    public static OnnxModel merge(OnnxModel base, LoraConfig config, Map<String, float[]> weights) {
        Graph g = base.graph();
        List<LoraTarget> targets = LoraInjector.of(config).findTargets(g);
        if (targets.isEmpty()) {
            throw new ModelFormatException(
                    "no LoRA target modules " + config.targetModules() + " in the model to merge into");
        }
        double scale = config.scaling();
        int r = config.rank();
        int merged = 0;
        for (LoraTarget t : targets) {
            float[] a = weights.get(t.loraA());
            float[] b = weights.get(t.loraB());
            if (a == null || b == null) {
                continue; // the adapter does not touch this projection
            }
            int in = (int) t.inFeatures();
            int out = (int) t.outFeatures();
            if (a.length != (long) r * in || b.length != (long) out * r) {
                throw new InvalidArgumentException("LoRA weights for " + t.module() + " have " + a.length + " and "
                        + b.length + " values; expected A [" + r + ", " + in + "] and B [" + out + ", " + r
                        + "] (rank mismatch?)");
            }
            TensorProto w = g.initializer(t.baseWeight())
                    .orElseThrow(() -> new ModelFormatException(
                            "base weight " + t.baseWeight() + " of " + t.module() + " is not an initializer"));
            if (w.getDataType() == DataType.UINT8_VALUE) {
                throw new ModelFormatException("cannot merge the adapter into " + t.module() + ": its base weight "
                        + t.baseWeight()
                        + " is 4-bit quantized (MatMulNBits). Serve the adapter beside the quantized base "
                        + "(MultiLoraModel / AdaptedModel with branches) or merge it into the float base");
            }
            float[] values = Tensors.toFloatArray(w);
            boolean outIn = storedOutByIn(g, t.baseWeight());
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < in; i++) {
                    double d = 0;
                    for (int k = 0; k < r; k++) {
                        d += b[o * r + k] * (double) a[k * in + i];
                    }
                    int idx = outIn ? o * in + i : i * out + o;
                    values[idx] += (float) (scale * d);
                }
            }
            // a float16/bfloat16 base keeps its precision: the sum is formed in float32, then rounded once
            g.putInitializer(HalfTensors.tensor(t.baseWeight(), values, w.getDataType(), Tensors.dims(w)));
            merged++;
        }
        if (merged == 0) {
            throw new InvalidArgumentException("none of the adapter's tensors match the model's LoRA targets "
                    + targets.stream().map(LoraTarget::module).limit(4).toList() + "...: an adapter for another base?");
        }
        return base.withGraph(g);
    }

    /** Whether the weight is stored [out, in] (consumed through Transpose, or by Gemm with transB=1). */
    static boolean storedOutByIn(Graph g, String weight) {
        for (Node n : g.consumers(weight)) {
            if (n.opType().equals("Transpose")) {
                return true;
            }
            if (n.opType().equals("Gemm")
                    && n.inputs().size() > 1
                    && n.inputs().get(1).equals(weight)) {
                return n.attribute("transB").map(a -> a.getI() == 1).orElse(false);
            }
        }
        return false;
    }
}
