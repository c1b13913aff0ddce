package dev.rectify.train;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.HalfTensors;
import dev.rectify.onnx.LazyWeights;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Mixed precision: every float32 matrix product of the forward graph ({@code MatMul}, {@code Gemm},
 * {@code com.microsoft.FusedMatMul}) reads its operands in the half type ({@link ComputePrecision}) and its result is
 * cast back to float32, so norms, softmax, residual adds, rotary embeddings and the loss head stay float32. Applied
 * before differentiation: the gradient of each {@code Cast} is a {@code Cast} back, so the backward products run in
 * the half type too and the trained parameters (float32 graph inputs: master weights) get float32 gradients.
 * <p>
 * The product that makes {@code logits} stays float32: the loss reads log-probabilities whose error is the logits'
 * absolute error, and bfloat16 logits of magnitude 16 to 32 are off by up to 0.06 to 0.125 (float32 keeps them to
 * 1e-6); it also keeps the chunked loss head ({@link ChunkedLossHead}) applicable. On CUDA it can use TF32.
 * <p>
 * Frozen float32 weights read only by converted products are stored in the half type in the artifacts
 * ({@link #storeFrozenInHalf}): with half kernels the product reads them directly, one half-size copy and no
 * {@code Cast} for ONNX Runtime to constant-fold into a second one. Emulation ({@code emulate}, for the CPU, whose
 * provider has no half MatMul kernels) makes the same graph but casts every half operand back to float32 right before
 * the product and rounds the product's result through the half type: the numbers of a half GEMM with float32
 * accumulation, up to summation order.
 */
final class MixedPrecision {
    private MixedPrecision() {}

    static boolean isProduct(Node n) {
        return n.isDefaultDomain() && (n.opType().equals("MatMul") || n.opType().equals("Gemm"))
                || n.domain().equals(OnnxModel.MICROSOFT) && n.opType().equals("FusedMatMul");
    }

    /**
     * Replaces each frozen float32 initializer of {@code g} whose every reader is a product other than the one making
     * {@code keepFloat} by its value rounded to {@code precision} (round to nearest even), loaded one tensor at a time.
     * Returns the names replaced.
     */
    static Set<String> storeFrozenInHalf(Graph g, ComputePrecision precision, String keepFloat) {
        Set<String> done = new HashSet<>();
        if (!precision.isHalf()) {
            return done;
        }
        Map<String, List<Node>> consumers = g.consumerIndex();
        Set<String> implicit = new HashSet<>();
        g.nodes().forEach(n -> implicit.addAll(n.implicitInputs()));
        for (TensorProto t : new ArrayList<>(g.initializers().values())) {
            String name = t.getName();
            List<Node> users = consumers.getOrDefault(name, List.of());
            if (t.getDataType() != DataType.FLOAT_VALUE
                    || users.isEmpty()
                    || implicit.contains(name)
                    || g.isInput(name)
                    || g.isOutput(name)
                    || !users.stream()
                            .allMatch(u -> isProduct(u) && !u.outputs().contains(keepFloat))) {
                continue;
            }
            float[] v = Tensors.toFloatArray(LazyWeights.load(t));
            g.putInitializer(HalfTensors.tensor(name, v, precision.onnxType().getNumber(), Tensors.dims(t)));
            g.removeValueInfo(name);
            done.add(name);
        }
        return done;
    }

    /**
     * Rewrites {@code g}'s products (all but the one making {@code keepFloat}) to compute in {@code precision};
     * {@code emulate}: on float32 kernels with half rounding (see the class). Returns the number of products
     * converted.
     */
    static int apply(Graph g, ComputePrecision precision, boolean emulate, String keepFloat) {
        if (!precision.isHalf()) {
            return 0;
        }
        int half = precision.onnxType().getNumber();
        String label = precision.label();
        Map<String, String> roundedOf = new HashMap<>();
        List<Node> added = new ArrayList<>();
        int converted = 0;
        for (Node n : List.copyOf(g.nodes())) {
            if (!isProduct(n) || n.outputs().contains(keepFloat) || !floatOperands(g, n, half)) {
                continue;
            }
            for (int i = 0; i < n.inputs().size(); i++) {
                String x = n.input(i);
                if (x.isEmpty()) {
                    continue;
                }
                boolean stored =
                        g.initializer(x).map(t -> t.getDataType() == half).orElse(false);
                // one Cast per product: its gradient casts back, so a tensor read by several products sums their
                // gradients in float32 (ORT's CUDA Sum may lack bfloat16; PyTorch's autocast sums in float32 too)
                String h = stored ? x : cast(g, x, half, label, added);
                n.inputs()
                        .set(
                                i,
                                emulate
                                        ? roundedOf.computeIfAbsent(
                                                h, k -> cast(g, k, DataType.FLOAT_VALUE, "float", added))
                                        : h);
            }
            String y = n.output(0);
            String raw = g.uniqueName(y + "/" + (emulate ? "float" : label));
            n.outputs().set(0, raw);
            String r = emulate ? cast(g, raw, half, label, added) : raw;
            added.add(castNode(g, r, y, DataType.FLOAT_VALUE));
            converted++;
        }
        added.forEach(g::addNode);
        g.sortTopologically();
        return converted;
    }

    /** Whether every initializer operand of {@code n} is float32 or already {@code half} (activations are float). */
    private static boolean floatOperands(Graph g, Node n, int half) {
        for (String x : n.inputs()) {
            int type = g.initializer(x).map(TensorProto::getDataType).orElse(DataType.FLOAT_VALUE);
            if (!x.isEmpty() && type != DataType.FLOAT_VALUE && type != half) {
                return false;
            }
        }
        return true;
    }

    private static String cast(Graph g, String x, int to, String label, List<Node> added) {
        String y = g.uniqueName(x + "/" + label);
        added.add(castNode(g, x, y, to));
        return y;
    }

    private static Node castNode(Graph g, String x, String y, int to) {
        return Node.of("Cast", List.of(x), List.of(y))
                .attr("to", (long) to)
                .name(g.uniqueName("/mixed_precision/Cast/" + y));
    }
}
