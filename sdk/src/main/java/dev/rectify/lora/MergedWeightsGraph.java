package dev.rectify.lora;

import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The zero-overhead variant of multi-adapter serving: the base graph unchanged, except that the weight of every
 * target projection is also a graph input whose initializer is its default (an overridable initializer). A request
 * without an adapter computes the base; an ORT adapter whose parameters are merged weights W + (alpha/r)·B·A,
 * named as the base weights ({@link #toOnnxAdapter}), overrides them for one run, so an adapter request dispatches
 * exactly the base's kernels. The price is memory: such an adapter holds the full target weights (≈ the base's
 * projection weights) instead of A and B, so it suits hot adapters of small bases, bounded by a cache.
 *
 * <p>Only float32 weights consumed directly by MatMul or Gemm qualify (a half or 4-bit weight, or one read through a
 * Transpose that ORT would otherwise fold, would cost kernels or precision); {@link #build} returns empty otherwise.
 */
public final class MergedWeightsGraph {
    private final OnnxModel model;
    private final Map<String, Target> targets;

    /** One overridable weight: its module, name, base values and layout. */
    private record Target(String module, String weight, float[] base, long[] dims, int in, int out, boolean outIn) {}

    private MergedWeightsGraph(OnnxModel model, Map<String, Target> targets) {
        this.model = model;
        this.targets = targets;
    }

    /**
     * The graph for {@code base} with the weights of the projections whose module ends in one of
     * {@code targetModules} made overridable, or empty when some target weight does not qualify.
     */
    public static Optional<MergedWeightsGraph> build(OnnxModel base, Set<String> targetModules) {
        Graph g = base.graph();
        ServingTargets.nameNodesUniquely(g, "/merged_weights/node_");
        List<LoraTarget> found = ServingTargets.projections(g, targetModules);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Target> targets = new LinkedHashMap<>();
        for (LoraTarget t : found) {
            Target target = target(g, t);
            if (target == null || targets.containsKey(t.module())) {
                return Optional.empty();
            }
            targets.put(t.module(), target);
        }
        for (Target t : targets.values()) {
            g.addInput(Builders.tensor(
                    t.weight(), DataType.FLOAT, Arrays.stream(t.dims()).boxed().toArray()));
        }
        return Optional.of(new MergedWeightsGraph(base.withGraph(g), targets));
    }

    /**
     * The weight tensor {@code t}'s MatMul/Gemm reads, made a plain initializer only that node consumes, or null
     * when it does not qualify. A weight stored [out, in] and read through a Transpose (PyTorch's export) is
     * transposed here once and the Transpose removed: ORT folds it for a constant weight, but would run it on every
     * token for an overridable one.
     */
    private static Target target(Graph g, LoraTarget t) {
        Node node = g.node(t.nodeName()).orElse(null);
        if (node == null || node.inputs().size() < 2) {
            return null;
        }
        String w = node.input(1);
        if (g.isInput(w) || g.consumers(w).size() != 1) {
            return null;
        }
        Optional<TensorProto> init = g.initializer(w);
        if (init.isPresent()) {
            if (init.get().getDataType() != DataType.FLOAT_VALUE) {
                return null;
            }
            boolean outIn = node.opType().equals("Gemm") && LoraMerge.storedOutByIn(g, w);
            return new Target(
                    t.module(),
                    w,
                    Tensors.toFloatArray(init.get()),
                    Tensors.dims(init.get()),
                    (int) t.inFeatures(),
                    (int) t.outFeatures(),
                    outIn);
        }
        Node transpose = g.producer(w).orElse(null);
        if (transpose == null
                || !transpose.opType().equals("Transpose")
                || !transpose
                        .attribute("perm")
                        .map(a -> a.getIntsList().equals(List.of(1L, 0L)))
                        .orElse(true)) {
            return null;
        }
        TensorProto stored = g.initializer(transpose.input(0)).orElse(null);
        if (stored == null || stored.getDataType() != DataType.FLOAT_VALUE || Tensors.dims(stored).length != 2) {
            return null;
        }
        int out = (int) Tensors.dims(stored)[0];
        int in = (int) Tensors.dims(stored)[1];
        if (in != t.inFeatures() || out != t.outFeatures()) {
            return null;
        }
        float[] outByIn = Tensors.toFloatArray(stored);
        float[] inByOut = new float[outByIn.length];
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                inByOut[i * out + o] = outByIn[o * in + i];
            }
        }
        g.removeNode(transpose);
        if (g.consumers(transpose.input(0)).isEmpty()) {
            g.removeInitializer(transpose.input(0));
        }
        g.addInitializer(Tensors.ofFloats(w, inByOut, in, out));
        return new Target(t.module(), w, inByOut, new long[] {in, out}, in, out, false);
    }

    /** The serving model (open one session on it). */
    public OnnxModel model() {
        return model;
    }

    /** Bytes one merged adapter holds at most: all overridable weights in float32. */
    public long adapterBytes() {
        long n = 0;
        for (Target t : targets.values()) {
            n += 4L * t.base().length;
        }
        return n;
    }

    /**
     * The {@code .onnx_adapter} bytes overriding the weights adapter {@code id} adapts with their merged values
     * W + (alpha/r)·B·A, summed in double and rounded once as {@link LoraMerge} does. The tensors must already be
     * checked against the base ({@link ServingLayout#check}); a tensor for a module this graph does not serve is
     * an {@link AdapterMismatchException}.
     */
    public byte[] toOnnxAdapter(String id, int rank, double alpha, Map<String, float[]> weights) {
        double scale = alpha / rank;
        Map<String, float[]> values = new TreeMap<>();
        Map<String, long[]> dims = new TreeMap<>();
        Set<String> used = new HashSet<>();
        for (Target t : targets.values()) {
            String an = LoraTarget.loraAName(t.module());
            String bn = LoraTarget.loraBName(t.module());
            float[] a = weights.get(an);
            float[] b = weights.get(bn);
            if (a == null || b == null) {
                continue;
            }
            used.add(an);
            used.add(bn);
            values.put(t.weight(), merged(t, a, b, rank, scale));
            dims.put(t.weight(), t.dims());
        }
        List<String> unknown = new ArrayList<>(weights.keySet());
        unknown.removeAll(used);
        if (!unknown.isEmpty() || values.isEmpty()) {
            throw new AdapterMismatchException(
                    AdapterMismatchException.Reason.UNKNOWN_MODULE,
                    "adapter " + id.substring(0, Math.min(12, id.length())) + ": tensors " + unknown
                            + " adapt no weight this merged-weights graph serves");
        }
        return OnnxAdapterFormat.write(values, dims, 1, 1);
    }

    private static float[] merged(Target t, float[] a, float[] b, int r, double scale) {
        float[] w = t.base().clone();
        int in = t.in();
        int out = t.out();
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double d = 0;
                for (int k = 0; k < r; k++) {
                    d += b[o * r + k] * (double) a[k * in + i];
                }
                w[t.outIn() ? o * in + i : i * out + o] += (float) (scale * d);
            }
        }
        return w;
    }
}
