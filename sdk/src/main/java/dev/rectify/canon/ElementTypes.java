package dev.rectify.canon;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OpOutputs;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.TypeProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Element types and ranks of a graph's tensors as far as the lowerings need them: declared ones (inputs, outputs,
 * value_info, initializers, Constant nodes) plus a forward walk with each op's output rule from the shared
 * {@link OpOutputs} table (which covers the fused {@code com.microsoft} ops the pass rewrites, too). Unknown types are
 * 0, unknown ranks -1.
 */
final class ElementTypes {
    private final Map<String, Integer> types = new HashMap<>();
    private final Map<String, Integer> ranks = new HashMap<>();
    private final Map<String, Integer> constantLengths = new HashMap<>();

    private ElementTypes() {}

    static ElementTypes infer(Graph g, List<Node> order) {
        ElementTypes t = new ElementTypes();
        for (TensorProto i : g.initializers().values()) {
            t.types.put(i.getName(), i.getDataType());
            t.ranks.put(i.getName(), i.getDimsCount());
            if (i.getDimsCount() == 1) {
                t.constantLengths.put(i.getName(), (int) i.getDims(0));
            }
        }
        for (List<ValueInfoProto> l : List.of(g.inputs(), g.valueInfos(), g.outputs())) {
            for (ValueInfoProto v : l) {
                t.declare(v);
            }
        }
        for (Node n : order) {
            t.walk(n);
        }
        return t;
    }

    private void declare(ValueInfoProto v) {
        if (!v.hasType() || !v.getType().hasTensorType()) {
            return;
        }
        TypeProto.Tensor tt = v.getType().getTensorType();
        if (tt.getElemType() != 0) {
            types.put(v.getName(), tt.getElemType());
        }
        if (tt.hasShape()) {
            ranks.put(v.getName(), tt.getShape().getDimCount());
        }
    }

    int type(String t) {
        return types.getOrDefault(t, 0);
    }

    int rank(String t) {
        return ranks.getOrDefault(t, -1);
    }

    void put(String t, int type, int rank) {
        if (type != 0) {
            types.put(t, type);
        }
        if (rank >= 0) {
            ranks.put(t, rank);
        }
    }

    /** Records the output types and ranks of {@code n} (called for each node the lowerings emit, too). */
    void walk(Node n) {
        String op = n.opType();
        List<String> outs = n.outputs();
        if (outs.isEmpty() || outs.get(0).isEmpty()) {
            return;
        }
        String o = outs.get(0);
        if (op.equals("Constant")) {
            TensorProto v = Attributes.getTensor(n, "value").orElse(null);
            if (v != null) {
                types.putIfAbsent(o, v.getDataType());
                ranks.putIfAbsent(o, v.getDimsCount());
                if (v.getDimsCount() == 1) {
                    constantLengths.put(o, (int) v.getDims(0));
                }
            }
            return;
        }
        int t = OpOutputs.elementType(n, this::type);
        if (op.equals("EmbedLayerNormalization")) {
            if (outs.size() > 1 && !outs.get(1).isEmpty()) {
                put(outs.get(1), DataType.INT32_VALUE, 1);
            }
            if (outs.size() > 2 && !outs.get(2).isEmpty()) {
                put(outs.get(2), t, 3);
            }
        }
        if (t != 0) {
            types.putIfAbsent(o, t);
        }
        int r = OpOutputs.rank(n, this::rank, this::constantLength);
        if (r >= 0) {
            ranks.putIfAbsent(o, r);
        }
    }

    /** The length of a 1-D constant (initializer or Constant node), -1 when not one. */
    private int constantLength(String t) {
        return constantLengths.getOrDefault(t, -1);
    }
}
