package dev.rectify.lora;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.BlockQuantized;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.HalfTensors;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.TypeProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Injects LoRA into the target projections of a graph: y' = y + (alpha/r)·((x·Aᵀ)·Bᵀ), A [r, in] and B [out, r]
 * named as PEFT names them. A projection is a MatMul (or Gemm with transA = 0) whose right operand is a 2-D float
 * weight, either used directly or through a Transpose. It is a target when
 * <ol>
 *   <li>the weight is named {@code <module>.weight} and the module's last component is a target (torch.onnx
 *       export without constant folding: {@code MatMul(x, Transpose(model.layers.0.self_attn.q_proj.weight))}), or</li>
 *   <li>the node is named {@code /<module path>/<op>} with a target as the module's last component (constant-folded
 *       exports such as Optimum's: {@code /model/layers.0/self_attn/q_proj/MatMul} with weight {@code onnx::MatMul_N}).</li>
 * </ol>
 * A {@code com.microsoft.MatMulNBits} projection (a 4-bit base) is matched the same way, with in/out features
 * from its K and N attributes (QLoRA).
 * The target {@value LoraTargets#ALL_LINEAR} matches every such projection inside the decoder layers (never the head).
 * A and B are added as initializers (A: PEFT's kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in), seeded per module;
 * B: zeros; or the config's initial values), so with B = 0 the graph computes exactly what it did before.
 * <p>Over 400 lines because it recognises the projection layout of every exporter (MatMul, Gemm, FusedMatMul, packed
 * attention weights, MatMulNBits) and rewires each the same way; matching and rewiring share the per-module naming
 * rules.
 */
public final class LoraInjector {
    private static final Set<String> OPS = Set.of("MatMul", "Gemm");

    private final LoraConfig config;

    private LoraInjector(LoraConfig config) {
        this.config = config;
    }

    public static LoraInjector of(LoraConfig config) {
        if (config == null) {
            throw new InvalidArgumentException("LoRA config is required");
        }
        return new LoraInjector(config);
    }

    public LoraConfig config() {
        return config;
    }

    /** A projection found in a graph, before injection. */
    private record Match(Node node, String module, String weight, boolean transposed, long in, long out) {
        /** A fused op that multiplies by its packed weight inside (com.microsoft Attention), not a MatMul/Gemm. */
        boolean fused() {
            return isPackedWeightOp(node);
        }
    }

    /**
     * Whether {@code n} is an ONNX Runtime fused op taking a projection weight [in, out] as input 1 (com.microsoft
     * Attention: input · weight + bias, packed Q, K and V). LoRA on such a weight adapts the weight itself:
     * W' = W + s·(B·A)ᵀ, which is what the unfused model computes.
     */
    public static boolean isPackedWeightOp(Node n) {
        return n.domain().equals(OnnxModel.MICROSOFT)
                && n.opType().equals("Attention")
                && n.inputs().size() > 1;
    }

    /** The targets LoRA would be injected into, without editing the graph. */
    public List<LoraTarget> findTargets(Graph graph) {
        List<LoraTarget> out = new ArrayList<>();
        for (Match m : match(graph)) {
            out.add(target(m));
        }
        return out;
    }

    /**
     * Injects LoRA in place and returns the adapted projections, in graph order. Throws
     * {@link NoLoraTargetException} when nothing matches, naming the patterns and some candidates.
     */
    public List<LoraTarget> inject(Graph graph) {
        List<Match> matches = match(graph);
        if (matches.isEmpty()) {
            throw noTarget(graph);
        }
        String scale = null;
        float scaling = (float) config.scaling();
        if (scaling != 1f) {
            scale = graph.uniqueName("lora.scaling");
            graph.addInitializer(Tensors.scalar(scale, scaling));
        }
        Map<String, long[]> created = new HashMap<>();
        List<LoraTarget> targets = new ArrayList<>();
        for (Match m : matches) {
            LoraTarget t = target(m);
            long[] dims = created.get(t.module());
            if (dims == null) {
                graph.addInitializer(initial(t.loraA(), t.module(), config.rank(), t.inFeatures(), true));
                graph.addInitializer(initial(t.loraB(), t.module(), t.outFeatures(), config.rank(), false));
                created.put(t.module(), new long[] {t.inFeatures(), t.outFeatures()});
            } else if (dims[0] != t.inFeatures() || dims[1] != t.outFeatures()) {
                throw new InvalidArgumentException(
                        "module '" + t.module() + "' is used by projections of different " + "shapes: [" + dims[0]
                                + ", " + dims[1] + "] and [" + t.inFeatures() + ", " + t.outFeatures() + "]");
            }
            if (m.fused()) {
                rewireWeight(graph, m.node(), t, scale);
            } else {
                rewire(graph, m.node(), t, scale);
            }
            targets.add(t);
        }
        return targets;
    }

    /**
     * Puts PEFT's {@code lora_dropout} on every LoRA branch of {@code trainingGraph} (a graph {@link #inject} adapted):
     * {@code x·Aᵀ} becomes {@code Dropout(x)·Aᵀ}, one ONNX {@code Dropout} (training mode, the config's ratio, a seed
     * derived from the config's seed and the module) per branch, so the base projection still sees {@code x} and
     * each adapted module drops independently, as PEFT's {@code B(A(dropout(x)))·scale}. For training graphs only:
     * evaluation and serving graphs never get it. Does nothing when the config's dropout is 0; returns the number of
     * Dropout nodes added.
     */
    public int addDropout(Graph trainingGraph) {
        if (config.dropout() <= 0) {
            return 0;
        }
        Map<String, Node> producers = trainingGraph.producerIndex();
        List<Node> branches = new ArrayList<>();
        for (Node n : trainingGraph.nodes()) {
            if (n.isDefaultDomain() && n.opType().equals("MatMul") && n.inputs().size() == 2) {
                Node p = producers.get(n.input(1));
                if (p != null && p.opType().equals("Transpose") && p.input(0).endsWith(LoraTarget.LORA_A_SUFFIX)) {
                    branches.add(n);
                }
            }
        }
        if (branches.isEmpty()) {
            return 0;
        }
        String ratio = trainingGraph.uniqueName("lora.dropout.ratio");
        String training = trainingGraph.uniqueName("lora.dropout.training");
        trainingGraph.addInitializer(Tensors.scalar(ratio, (float) config.dropout()));
        trainingGraph.addInitializer(Tensors.ofBooleans(training, new boolean[] {true}));
        for (Node mm : branches) {
            String loraA = producers.get(mm.input(1)).input(0);
            String module = loraA.substring(0, loraA.length() - LoraTarget.LORA_A_SUFFIX.length());
            String prefix = "/lora/" + module + "/";
            String dropped = trainingGraph.uniqueName(prefix + "dropout");
            Node d = Node.of("Dropout", List.of(mm.input(0), ratio, training), List.of(dropped))
                    .name(trainingGraph.uniqueName(prefix + "Dropout"))
                    .attr(
                            "seed",
                            mix(config.seed() ^ 0x5DEECE66DL, mm.name() == null ? module : mm.name()) & 0x7fffffffL);
            mm.inputs().set(0, dropped);
            trainingGraph.nodes().add(trainingGraph.nodes().indexOf(mm), d);
        }
        return branches.size();
    }

    private LoraTarget target(Match m) {
        return new LoraTarget(
                m.module(),
                m.weight(),
                m.node().name(),
                m.in(),
                m.out(),
                LoraTarget.loraAName(m.module()),
                LoraTarget.loraBName(m.module()));
    }

    private List<Match> match(Graph graph) {
        Map<String, Node> producers = graph.producerIndex();
        List<Match> out = new ArrayList<>();
        for (Node n : graph.nodes()) {
            if (BlockQuantized.isMatMulNBits(n)) {
                Match q = quantized(graph, n);
                if (q != null) {
                    out.add(q);
                }
                continue;
            }
            if (isPackedWeightOp(n)) {
                long[] dims = weightDims(graph, n.input(1));
                String module = moduleOf(n.input(1), n.name());
                if (dims != null && dims.length == 2 && module != null) {
                    out.add(new Match(n, module, n.input(1), false, dims[0], dims[1]));
                }
                continue;
            }
            if (!n.isDefaultDomain() || !OPS.contains(n.opType()) || n.inputs().size() < 2) {
                continue;
            }
            if (n.opType().equals("Gemm") && Attributes.getInt(n, "transA", 0) != 0) {
                continue;
            }
            boolean transposed = false;
            String w = n.input(1);
            Node p = producers.get(w);
            if (p != null && p.opType().equals("Transpose") && p.isDefaultDomain()) {
                long[] perm = Attributes.getInts(p, "perm", new long[] {1, 0});
                if (perm.length != 2 || perm[0] != 1 || perm[1] != 0) {
                    continue;
                }
                w = p.input(0);
                transposed = true;
            }
            if (n.opType().equals("Gemm") && Attributes.getInt(n, "transB", 0) != 0) {
                transposed = !transposed;
            }
            long[] dims = weightDims(graph, w);
            if (dims == null || dims.length != 2) {
                continue;
            }
            String module = moduleOf(w, n.name());
            if (module == null) {
                continue;
            }
            long in = transposed ? dims[1] : dims[0];
            long outF = transposed ? dims[0] : dims[1];
            out.add(new Match(n, module, w, transposed, in, outF));
        }
        return out;
    }

    /**
     * A 4-bit MatMulNBits projection (QLoRA: the adapter trains in float32 beside the frozen quantized weight),
     * named by its node ({@code /model/layers.0/attn/q_proj/MatMul_Q4}) or else its weight
     * ({@code <module>[.MatMul].weight_Q4}).
     */
    private Match quantized(Graph graph, Node n) {
        BlockQuantized.MatMulNBits q = BlockQuantized.matMulNBits(graph, n);
        String w = q.b();
        String module = moduleFromNodeName(n.name());
        if (module == null || !isTarget(module)) {
            int at = w.lastIndexOf(".weight");
            module = at > 0 ? w.substring(0, at) : null;
            if (module != null && module.endsWith(".MatMul")) {
                module = module.substring(0, module.length() - ".MatMul".length());
            }
            module = module != null && isTarget(module) ? module : null;
        }
        return module == null ? null : new Match(n, module, w, true, q.k(), q.n());
    }

    /** The module path if {@code weight} or {@code nodeName} names a target module, else null. */
    private String moduleOf(String weight, String nodeName) {
        if (weight.endsWith(".weight")) {
            String module = weight.substring(0, weight.length() - ".weight".length());
            if (isTarget(module)) {
                return module;
            }
        }
        String fromNode = moduleFromNodeName(nodeName);
        return fromNode != null && isTarget(fromNode) ? fromNode : null;
    }

    private boolean isTarget(String module) {
        if (config.targetModules().contains(LoraTargets.ALL_LINEAR) && LoraTargets.isLayerProjection(module)) {
            return true;
        }
        int dot = module.lastIndexOf('.');
        return config.targetModules().contains(module.substring(dot + 1));
    }

    /** {@code /model/layers.0/self_attn/q_proj/MatMul} → {@code model.layers.0.self_attn.q_proj}; else null. */
    static String moduleFromNodeName(String nodeName) {
        if (nodeName == null || !nodeName.startsWith("/")) {
            return null;
        }
        List<String> parts = new ArrayList<>();
        for (String s : nodeName.split("/")) {
            if (!s.isEmpty()) {
                parts.add(s);
            }
        }
        if (parts.size() < 2) {
            return null;
        }
        return String.join(".", parts.subList(0, parts.size() - 1));
    }

    private static long[] weightDims(Graph graph, String w) {
        Optional<TensorProto> init = graph.initializer(w);
        if (init.isPresent()) {
            return isFloat(init.get().getDataType()) ? Tensors.dims(init.get()) : null;
        }
        Optional<ValueInfoProto> in = graph.input(w);
        if (in.isEmpty() || !in.get().getType().hasTensorType()) {
            return null;
        }
        TypeProto.Tensor t = in.get().getType().getTensorType();
        if (!isFloat(t.getElemType()) || !t.hasShape()) {
            return null;
        }
        long[] dims = new long[t.getShape().getDimCount()];
        for (int i = 0; i < dims.length; i++) {
            if (!t.getShape().getDim(i).hasDimValue()) {
                return null;
            }
            dims[i] = t.getShape().getDim(i).getDimValue();
        }
        return dims;
    }

    /** float32, or a half-precision base weight (serving and merging on a float16/bfloat16 model). */
    private static boolean isFloat(int type) {
        return type == DataType.FLOAT_VALUE || HalfTensors.isHalf(type);
    }

    private TensorProto initial(String name, String module, long rows, long cols, boolean isA) {
        long n = rows * cols;
        if (n > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("LoRA tensor " + name + " [" + rows + ", " + cols + "] is too large");
        }
        float[] supplied = config.initialValue(name);
        if (supplied != null) {
            if (supplied.length != n) {
                throw new InvalidArgumentException("initial value for " + name + " has " + supplied.length
                        + " values, [" + rows + ", " + cols + "] needs " + n);
            }
            return Tensors.ofFloats(name, supplied, rows, cols);
        }
        float[] v = new float[(int) n];
        if (isA) {
            double bound = 1.0 / Math.sqrt(cols);
            SplittableRandom r = new SplittableRandom(mix(config.seed(), module));
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
            }
        }
        return Tensors.ofFloats(name, v, rows, cols);
    }

    /** A per-module seed independent of the order modules are visited in. */
    private static long mix(long seed, String module) {
        long h = 0xcbf29ce484222325L;
        for (byte b : module.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return seed * 0x9E3779B97F4A7C15L ^ h;
    }

    /** Weight-space LoRA for a fused op: its weight input becomes W + (Aᵀ·Bᵀ)·scale, formed in the weight's type. */
    private static void rewireWeight(Graph graph, Node node, LoraTarget t, String scale) {
        String prefix = "/lora/" + t.module() + "/";
        String at = graph.uniqueName(t.loraA() + ".T");
        String bt = graph.uniqueName(t.loraB() + ".T");
        String delta = graph.uniqueName(prefix + "delta_weight");
        List<Node> added = new ArrayList<>();
        added.add(Node.of("Transpose", List.of(t.loraA()), List.of(at))
                .attrInts("perm", 1, 0)
                .name(graph.uniqueName(prefix + "TransposeA")));
        added.add(Node.of("Transpose", List.of(t.loraB()), List.of(bt))
                .attrInts("perm", 1, 0)
                .name(graph.uniqueName(prefix + "TransposeB")));
        added.add(Node.of("MatMul", List.of(at, bt), List.of(delta)).name(graph.uniqueName(prefix + "MatMulAB")));
        if (scale != null) {
            String scaled = graph.uniqueName(prefix + "delta_scaled");
            added.add(Node.of("Mul", List.of(delta, scale), List.of(scaled)).name(graph.uniqueName(prefix + "Scale")));
            delta = scaled;
        }
        String w = graph.uniqueName(prefix + "weight");
        added.add(
                Node.of("Add", List.of(node.input(1), delta), List.of(w)).name(graph.uniqueName(prefix + "AddWeight")));
        node.inputs().set(1, w);
        graph.nodes().addAll(graph.nodes().indexOf(node), added);
    }

    private static void rewire(Graph graph, Node node, LoraTarget t, String scale) {
        String x = node.input(0);
        String y = node.output(0);
        String base = graph.uniqueName(y + ".lora_base");
        node.outputs().set(0, base);
        String prefix = "/lora/" + t.module() + "/";
        String at = graph.uniqueName(t.loraA() + ".T");
        String bt = graph.uniqueName(t.loraB() + ".T");
        String xa = graph.uniqueName(prefix + "xA");
        String xab = graph.uniqueName(prefix + "xAB");
        List<Node> added = new ArrayList<>();
        added.add(Node.of("Transpose", List.of(t.loraA()), List.of(at))
                .attrInts("perm", 1, 0)
                .name(graph.uniqueName(prefix + "TransposeA")));
        added.add(Node.of("MatMul", List.of(x, at), List.of(xa)).name(graph.uniqueName(prefix + "MatMulA")));
        added.add(Node.of("Transpose", List.of(t.loraB()), List.of(bt))
                .attrInts("perm", 1, 0)
                .name(graph.uniqueName(prefix + "TransposeB")));
        // s·(xA)B rather than s·(xAB): the scale multiplies the rank-sized [tokens, r] product, not the
        // [tokens, out] one (measured: the Mul and its gradient were ~5 % of a 30M-parameter training step)
        String scaledXa = xa;
        if (scale != null) {
            scaledXa = graph.uniqueName(prefix + "xA_scaled");
            added.add(Node.of("Mul", List.of(xa, scale), List.of(scaledXa)).name(graph.uniqueName(prefix + "Scale")));
        }
        added.add(Node.of("MatMul", List.of(scaledXa, bt), List.of(xab)).name(graph.uniqueName(prefix + "MatMulB")));
        added.add(Node.of("Add", List.of(base, xab), List.of(y)).name(graph.uniqueName(prefix + "Add")));
        int at0 = graph.nodes().indexOf(node);
        graph.nodes().addAll(at0 + 1, added);
    }

    private NoLoraTargetException noTarget(Graph graph) {
        Set<String> candidates = new LinkedHashSet<>();
        Map<String, Node> producers = graph.producerIndex();
        for (Node n : graph.nodes()) {
            if (candidates.size() >= 8) {
                break;
            }
            if (n.isDefaultDomain() && OPS.contains(n.opType()) && n.inputs().size() >= 2) {
                String w = n.input(1);
                Node p = producers.get(w);
                if (p != null && p.opType().equals("Transpose")) {
                    w = p.input(0);
                }
                candidates.add(graph.isInitializer(w) ? w + " (node " + n.name() + ")" : "node " + n.name());
            }
        }
        return new NoLoraTargetException("no LoRA target found for modules " + config.targetModules()
                + ": looked for MatMul/Gemm nodes whose weight is named '<module>.weight' or whose node is named "
                + "'/<module path>/MatMul' with a module ending in one of those names. "
                + (candidates.isEmpty()
                        ? "The graph has no MatMul/Gemm with a weight operand."
                        : "Projections found: " + String.join(", ", candidates)
                                + ". Set LoraConfig.targetModules to match them."));
    }
}
