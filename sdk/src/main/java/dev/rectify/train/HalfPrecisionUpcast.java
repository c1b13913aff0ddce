package dev.rectify.train;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.LazyWeights;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Lets a float16 or bfloat16 base train: the training and eval graphs compute in float32. Every half-precision
 * initializer becomes its exact float32 value (a half value widens to float32 without rounding, so the frozen base
 * is the model's own weights), {@code Constant}/{@code ConstantOfShape} values and {@code Cast} targets follow, and
 * half graph inputs, outputs (the logits) and value infos are declared float32. LoRA weights, the loss head and the
 * gradients are float32; in full fine-tuning the trained copies are float32 master weights. The served model keeps
 * its own precision (see {@code LoraMerge} / {@code MultiLoraGraph}).
 */
final class HalfPrecisionUpcast {
    private HalfPrecisionUpcast() {}

    static boolean isHalf(int type) {
        return type == DataType.FLOAT16_VALUE || type == DataType.BFLOAT16_VALUE;
    }

    /** Converts {@code g} in place; returns the half type found ({@code FLOAT16} or {@code BFLOAT16}), or 0 if none. */
    static int upcast(Graph g) {
        int found = 0;
        for (TensorProto t : new ArrayList<>(g.initializers().values())) {
            if (isHalf(t.getDataType())) {
                found = t.getDataType();
                g.putInitializer(
                        Tensors.ofFloats(t.getName(), Tensors.toFloatArray(LazyWeights.load(t)), Tensors.dims(t)));
            }
        }
        for (Node n : g.nodes()) {
            if (!n.isDefaultDomain()) {
                continue;
            }
            if (n.opType().equals("Cast") && isHalf((int) Attributes.getInt(n, "to", 0))) {
                found = found == 0 ? (int) Attributes.getInt(n, "to", 0) : found;
                n.attr("to", (long) DataType.FLOAT_VALUE);
            }
            if (n.opType().equals("Constant") || n.opType().equals("ConstantOfShape")) {
                AttributeProto a = n.attributes().get("value");
                if (a != null && a.hasT() && isHalf(a.getT().getDataType())) {
                    TensorProto t = a.getT();
                    found = found == 0 ? t.getDataType() : found;
                    n.attr("value", Tensors.ofFloats(t.getName(), Tensors.toFloatArray(t), Tensors.dims(t)));
                }
            }
        }
        found = widen(g.inputs(), found);
        found = widen(g.outputs(), found);
        found = widen(g.valueInfos(), found);
        return found;
    }

    private static int widen(List<ValueInfoProto> list, int found) {
        for (int i = 0; i < list.size(); i++) {
            ValueInfoProto v = list.get(i);
            if (v.getType().hasTensorType()
                    && isHalf(v.getType().getTensorType().getElemType())) {
                found = found == 0 ? v.getType().getTensorType().getElemType() : found;
                ValueInfoProto.Builder b = v.toBuilder();
                b.getTypeBuilder().getTensorTypeBuilder().setElemType(DataType.FLOAT_VALUE);
                list.set(i, b.build());
            }
        }
        return found;
    }

    /** For messages: "float16" or "bfloat16". */
    static String name(int type) {
        return Map.of(DataType.FLOAT16_VALUE, "float16", DataType.BFLOAT16_VALUE, "bfloat16")
                .getOrDefault(type, "float32");
    }
}
