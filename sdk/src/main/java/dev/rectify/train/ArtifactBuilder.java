package dev.rectify.train;

import dev.rectify.autodiff.UnsupportedOpException;
import dev.rectify.canon.Canonicalizer;
import dev.rectify.canon.OpsetUpgrade;
import dev.rectify.canon.OpsetUpgradeException;
import dev.rectify.canon.UnlowerableOpException;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.lora.LoraInjector;
import dev.rectify.lora.LoraTarget;
import dev.rectify.onnx.BlockQuantized;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.LazyWeights;
import dev.rectify.onnx.ModelHash;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Builds ONNX Runtime training artifacts — {@code training_model.onnx}, {@code eval_model.onnx},
 * {@code optimizer_model.onnx}, {@code checkpoint} — from a base inference export ({@code input_ids,
 * attention_mask, position_ids → logits}, no KV cache; with-past exports, Optimum's merged decoder and
 * float16/bfloat16 bases are first brought to that form by {@link TrainableLayout}) and a {@link TrainingPlan},
 * exactly as ort-training-facts.md §4/§7 states:
 * <ul>
 *   <li>trainable parameters (LoRA A/B, or the selected base weights) become graph inputs, each with a
 *       {@code <p>_grad.accumulation.buffer} input and one {@code com.microsoft.InPlaceAccumulatorV2}; then
 *       {@code lazy_reset_grad};</li>
 *   <li>frozen base weights stay initializers (not in the checkpoint), written as external data
 *       ({@code <model>.onnx.data}) above {@link Builder#externalDataThreshold};</li>
 *   <li>training outputs: {@code loss, nll_sum, valid_tokens, grad_norm_sq[, grad_debug.<p>...],
 *       <p>_grad.accumulation.out...}. {@code grad_norm_sq} is the squared L2 norm of the accumulated buffers,
 *       so the last micro-batch of a step reports the whole step's pre-clip gradient norm;</li>
 *   <li>eval outputs: {@code loss, nll_sum, valid_tokens, correct_tokens, logits}, parameters in the same order;</li>
 *   <li>the checkpoint holds the trainable tensors only, plus {@code rectify.*} properties.</li>
 * </ul>
 * The loss head's backward is written directly ({@link ObjectiveHead}); the model is differentiated from
 * {@code logits} with the head's dlogits as seed.
 * <p>Over 400 lines because it is the one ordered pipeline from a model to training artifacts (canonicalize, inject,
 * differentiate, loss head, optimizer, write); each stage is a call into its own class.
 */
public final class ArtifactBuilder {
    /** Bumped whenever the artifacts this class writes change. Part of the cache key. */
    public static final String VERSION = "rectify-artifacts-5";

    public static final String LOGITS = "logits";
    public static final String GRAD_NORM_SQ = "grad_norm_sq";
    public static final String GRAD_DEBUG_PREFIX = "grad_debug.";
    public static final String PROP_PLAN_HASH = "rectify.plan_hash";
    public static final String PROP_BASE_HASH = "rectify.base_hash";
    public static final String PROP_BUILDER = "rectify.builder_version";
    public static final String PROP_OBJECTIVE = "rectify.objective";
    public static final String PROP_NORMALIZATION = "rectify.normalization";
    public static final String PROP_MODE = "rectify.mode";
    /** Where weight decay is applied: {@link WeightDecay.Where}'s name. */
    public static final String PROP_DECAY = "rectify.weight_decay";
    /**
     * The matrix products' precision when not float32: {@link ComputePrecision#label()}, with {@code ~emulated} for
     * float32 kernels with half rounding. Absent for float32.
     */
    public static final String PROP_PRECISION = "rectify.precision";
    /** The float16 training model's loss scale input, float [1]: the backward pass runs on loss × scale. */
    public static final String LOSS_SCALE = "loss_scale";
    /** The frozen base weights, one copy shared by the training and eval models. */
    public static final String FROZEN_WEIGHTS = "frozen_weights.onnx.data";

    /** Fused contrib ops made for inference: no gradient kernels exist for them. */
    static final Set<String> INFERENCE_ONLY_OPS = Set.of(
            "GroupQueryAttention",
            "MultiHeadAttention",
            "Attention",
            "RotaryEmbedding",
            "MatMulNBits",
            "MatMulBnb4",
            "SkipSimplifiedLayerNormalization",
            "SkipLayerNormalization",
            "PackedAttention",
            "PackedMultiHeadAttention",
            "DecoderMaskedMultiHeadAttention",
            "SparseAttention",
            "EmbedLayerNormalization",
            "GatherBlockQuantized",
            "DynamicQuantizeMatMul",
            "MatMulIntegerToFloat",
            "MoE",
            "QMoE",
            "PagedAttention");
    /** Frozen 4-bit weights (checked by {@link QuantizedBase}): they run forward and pass gradient to their input. */
    static final Set<String> QUANTIZED_OPS = Set.of(BlockQuantized.MATMUL_NBITS, BlockQuantized.GATHER_BLOCK_QUANTIZED);

    private static final Pattern BUFFER_NAMES =
            Pattern.compile("(?i)(inv_freq|cos_cached|sin_cached|rotary|causal_mask|masked_bias)");

    private final long externalDataThreshold;
    private final long checkpointExternalThreshold;
    private final Differentiator differentiator;

    private ArtifactBuilder(Builder b) {
        this.externalDataThreshold = b.externalDataThreshold;
        this.checkpointExternalThreshold = b.checkpointExternalThreshold;
        this.differentiator = b.differentiator;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Default options: external data above 1 KiB, checkpoint external data above 1 GiB, Rectify's autodiff. */
    public static ArtifactBuilder defaults() {
        return builder().build();
    }

    /** Options that change the files written (part of the cache key). */
    String canonicalOptions() {
        return "ext=" + externalDataThreshold + ",ckext=" + checkpointExternalThreshold;
    }

    /**
     * Builds the artifacts for {@code baseModel} (a model file) into {@code folder}. Only the graph is read
     * ({@link LazyWeights}): the frozen weights are copied file to file into the one data file both graphs share.
     */
    public TrainingArtifacts build(Path baseModel, TrainingPlan plan, Path folder) {
        return build(LazyWeights.open(baseModel), ModelHash.of(baseModel), plan, folder);
    }

    /**
     * Builds the artifacts for an in-memory base (data inline, or references made by {@link LazyWeights#open})
     * into {@code folder} (created if needed; the four
     * files and their data files are replaced). {@code baseHash} is recorded in the checkpoint.
     */
    public TrainingArtifacts build(OnnxModel base, String baseHash, TrainingPlan plan, Path folder) {
        if (plan == null) {
            throw new InvalidArgumentException("a training plan is required");
        }
        Graph g = base.graph();
        int opset = upgradeOpset(g, base.opsetVersion(""));
        TrainableLayout.prepare(g); // merged decoder, with-past export, half precision: see the class
        lowerFusedOps(g, opset);
        QuantizedBase.checkPlan(QuantizedBase.check(g), plan); // 4-bit MatMulNBits/GatherBlockQuantized: QLoRA
        checkTrainable(g);
        // old-style exports list initializers among the inputs too: frozen weights must not become user inputs
        g.inputs().removeIf(v -> g.isInitializer(v.getName()));
        List<TensorProto> params = selectAndInject(g, plan);
        ControlFlowGuard.check(g, params.stream().map(TensorProto::getName).toList());
        for (TensorProto p : params) {
            g.removeInitializer(p.getName());
        }
        FrozenTransposeFusion.apply(g);
        ComputePrecision precision = plan.computePrecision();
        MixedPrecision.storeFrozenInHalf(g, precision, LOGITS); // once, shared by both graphs' data
        List<String> names = params.stream().map(TensorProto::getName).toList();
        List<String> baseInputs = g.inputNames();
        ObjectiveHead head = ObjectiveHead.of(plan.objective());

        Graph eval = Graph.fromProto(g.toProto());
        MixedPrecision.apply(eval, precision, plan.emulateHalfKernels(), LOGITS);
        buildEval(eval, head, params);
        Graph train = Graph.fromProto(g.toProto());
        if (plan.mode() == TrainingPlan.Mode.LORA) {
            LoraInjector.of(plan.lora()).addDropout(train); // training only: the eval graph was copied before
        }
        MixedPrecision.apply(train, precision, plan.emulateHalfKernels(), LOGITS); // after the dropout finds LoRA
        WeightDecay decay = WeightDecay.of(params);
        buildTraining(train, head, params, plan, opset);

        Map<String, Object> props = new LinkedHashMap<>();
        props.put(PROP_PLAN_HASH, plan.hash());
        props.put(PROP_BASE_HASH, baseHash == null ? "" : baseHash);
        props.put(PROP_BUILDER, VERSION);
        props.put(PROP_OBJECTIVE, plan.objective().toString());
        props.put(PROP_NORMALIZATION, plan.normalization().name());
        props.put(PROP_MODE, plan.mode().name());
        props.put(PROP_DECAY, decay.where(plan.weightDecay()).name());
        if (precision.isHalf()) { // float32 artifacts stay as they were
            props.put(PROP_PRECISION, precision.label() + (plan.emulateHalfKernels() ? "~emulated" : ""));
        }

        Path dir = folder.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        Path tm = dir.resolve(TrainingArtifacts.TRAINING_MODEL);
        Path em = dir.resolve(TrainingArtifacts.EVAL_MODEL);
        Path om = dir.resolve(TrainingArtifacts.OPTIMIZER_MODEL);
        Path ck = dir.resolve(TrainingArtifacts.CHECKPOINT);
        Map<Path, OnnxModel> graphs = new LinkedHashMap<>();
        graphs.put(tm, model(base, train, opset));
        graphs.put(em, model(base, eval, opset));
        LazyWeights.write(graphs, FROZEN_WEIGHTS, externalDataThreshold);
        deleteStale(dir);
        OptimizerModel.of(plan, decay.where(plan.weightDecay()) == WeightDecay.Where.OPTIMIZER, params.size())
                .write(om);
        CheckpointWriter cw = CheckpointWriter.create();
        params.forEach(cw::trainable);
        props.forEach((k, v) -> cw.property(k, v.toString()));
        cw.externalData(cw.dataBytes() > checkpointExternalThreshold);
        cw.write(ck);

        List<String> userTrain = new ArrayList<>(baseInputs);
        userTrain.add(ObjectiveHead.LABELS);
        userTrain.add(ObjectiveHead.LOSS_DENOMINATOR);
        List<String> userEval = List.copyOf(userTrain);
        if (train.isInput(LOSS_SCALE)) {
            userTrain.add(LOSS_SCALE);
        }
        List<String> trainOut = train.outputNames().stream()
                .filter(n -> !n.endsWith(TrainingArtifacts.OUT_SUFFIX))
                .toList();
        TrainingArtifacts a = new TrainingArtifacts(
                dir, tm, em, om, ck, names, userTrain, userEval, trainOut, eval.outputNames(), props);
        a.writeManifest();
        return a;
    }

    /** Removes the per-model data files of earlier builder versions, now replaced by {@link #FROZEN_WEIGHTS}. */
    private static void deleteStale(Path dir) {
        for (String f : List.of(TrainingArtifacts.TRAINING_MODEL + ".data", TrainingArtifacts.EVAL_MODEL + ".data")) {
            try {
                Files.deleteIfExists(dir.resolve(f));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete the stale " + dir.resolve(f) + ": " + e.getMessage(), e);
            }
        }
    }

    // ---- checks and selection ----

    private static void checkTrainable(Graph g) {
        if (!g.isOutput(LOGITS)) {
            throw new UntrainableModelException("the base model has no 'logits' output (outputs: " + g.outputNames()
                    + "); export a causal LM whose output is named 'logits' [batch, sequence, vocab]");
        }
        Map<String, Node> producers = g.producerIndex();
        ArrayDeque<String> todo = new ArrayDeque<>(List.of(LOGITS));
        Set<Node> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            Node n = producers.get(todo.pop());
            if (n == null || !seen.add(n)) {
                continue;
            }
            if (INFERENCE_ONLY_OPS.contains(n.opType())
                    && !n.isDefaultDomain()
                    && !QUANTIZED_OPS.contains(n.opType())) {
                throw new UntrainableModelException(
                        "the base model uses the inference-only fused op " + n.domain() + "."
                                + n.opType() + " (" + n.describe() + ") on the path to the logits; it has no gradient. "
                                + "Train from an export made of standard ONNX ops (torch.onnx.export / Optimum without ORT "
                                + "fusions or quantization) and serve the fused model separately");
            }
            todo.addAll(n.inputs());
            todo.addAll(n.implicitInputs());
        }
    }

    /**
     * Brings a graph written at opset 11 or 12 (ONNX Runtime's transformers optimizer writes 11) to the opset training
     * graphs are built at; returns the graph's opset afterwards.
     */
    private static int upgradeOpset(Graph g, int opset) {
        try {
            return OpsetUpgrade.upgrade(g, opset).to();
        } catch (OpsetUpgradeException e) {
            throw new UntrainableModelException("the base model cannot be trained: " + e.getMessage(), e);
        }
    }

    /**
     * Rewrites fused inference ops (ORT's SkipLayerNormalization, MultiHeadAttention, RotaryEmbedding…) into standard
     * ops before LoRA injection and differentiation. Only the training artifacts see the lowered graph; inference and
     * serving keep the fused model.
     */
    private static void lowerFusedOps(Graph g, int opset) {
        try {
            Canonicalizer.standard().lower(g, opset);
        } catch (UnlowerableOpException e) {
            throw new UntrainableModelException("the base model cannot be trained: " + e.getMessage(), e);
        }
    }

    private static List<TensorProto> selectAndInject(Graph g, TrainingPlan plan) {
        List<TensorProto> out = new ArrayList<>();
        if (plan.mode() == TrainingPlan.Mode.LORA) {
            List<LoraTarget> targets = LoraInjector.of(plan.lora()).inject(g);
            Set<String> seen = new LinkedHashSet<>();
            for (LoraTarget t : targets) {
                if (seen.add(t.loraA())) {
                    out.add(g.initializer(t.loraA()).orElseThrow());
                    out.add(g.initializer(t.loraB()).orElseThrow());
                }
            }
            return out;
        }
        TiedWeights.retie(g); // a folded copy of a tied embedding trains as the embedding itself
        Set<String> used = new HashSet<>(g.consumerIndex().keySet());
        g.nodes().forEach(n -> used.addAll(n.implicitInputs()));
        Pattern p = plan.fullFineTuningPattern() == null ? null : Pattern.compile(plan.fullFineTuningPattern());
        LossPaths paths = LossPaths.to(g, LOGITS);
        List<String> candidates = new ArrayList<>();
        List<String> picked = new ArrayList<>();
        for (TensorProto t : g.initializers().values()) {
            if (t.getDataType() != DataType.FLOAT_VALUE || !used.contains(t.getName())) {
                continue;
            }
            candidates.add(t.getName());
            boolean pick = p != null
                    ? p.matcher(t.getName()).find()
                    : t.getDimsCount() >= 2
                            && !BUFFER_NAMES.matcher(t.getName()).find();
            if (pick) {
                picked.add(t.getName());
            }
        }
        ControlFlowGuard.check(g, picked);
        Set<String> unreached = paths.unreached(picked);
        if (p != null && !unreached.isEmpty()) {
            throw new UntrainableModelException("full fine-tuning pattern '" + p + "' selects " + unreached.size()
                    + " tensor(s) that cannot change the logits (no differentiable path: "
                    + String.join(", ", List.copyOf(unreached).subList(0, Math.min(5, unreached.size())))
                    + (unreached.size() > 5 ? ", ..." : "")
                    + "); they would get zero gradients and only weight decay. Narrow the pattern");
        }
        for (String name : picked) {
            if (!unreached.contains(name)) { // by default, tensors off the path to the logits are buffers, not weights
                out.add(Tensors.withRawData(LazyWeights.load(g.initializer(name).orElseThrow())));
            }
        }
        if (out.isEmpty()) {
            throw new NoTrainableParametersException("full fine-tuning selected no parameter ("
                    + (p == null
                            ? "no float initializer of rank >= 2"
                            : "pattern '" + p + "' matched no float initializer")
                    + "); float initializers: "
                    + (candidates.isEmpty()
                            ? "none"
                            : String.join(", ", candidates.subList(0, Math.min(10, candidates.size())))
                                    + (candidates.size() > 10 ? ", ..." : "")));
        }
        return out;
    }

    // ---- the two graphs ----

    /**
     * The weight matrices whose products {@link Checkpointing#SELECTIVE} keeps: the frozen 2-D weights of at least
     * 32 x 32 and, in full fine-tuning, the trained ones (LoRA's own matrices are rank-sized: recomputing their
     * products is cheap).
     */
    private static Set<String> weightMatrices(Graph g, List<TensorProto> params, TrainingPlan plan) {
        Set<String> out = new HashSet<>();
        List<TensorProto> candidates = new ArrayList<>(g.initializers().values());
        if (plan.mode() == TrainingPlan.Mode.FULL) {
            candidates.addAll(params);
        }
        for (TensorProto t : candidates) {
            long[] d = Tensors.dims(t);
            if (d.length == 2 && Math.min(d[0], d[1]) >= 32) {
                out.add(t.getName());
            }
        }
        return out;
    }

    private static ValueInfoProto paramInfo(TensorProto p, String name) {
        return Builders.tensor(name, DataType.forNumber(p.getDataType()), Tensors.dims(p));
    }

    private static void buildEval(Graph eval, ObjectiveHead head, List<TensorProto> params) {
        ValueInfoProto logits = eval.output(LOGITS).orElseThrow();
        head.append(eval, LOGITS, false, true);
        for (TensorProto p : params) {
            eval.addInput(paramInfo(p, p.getName()));
        }
        List<ValueInfoProto> keep = new ArrayList<>();
        for (String n : List.of(
                ObjectiveHead.LOSS, ObjectiveHead.NLL_SUM, ObjectiveHead.VALID_TOKENS, ObjectiveHead.CORRECT_TOKENS)) {
            keep.add(eval.output(n).orElseThrow());
        }
        keep.add(logits);
        eval.outputs().clear();
        eval.outputs().addAll(keep);
    }

    private void buildTraining(
            Graph train, ObjectiveHead head, List<TensorProto> params, TrainingPlan plan, int opset) {
        Map<String, long[]> paramDims = new HashMap<>();
        params.forEach(p -> paramDims.put(p.getName(), Tensors.dims(p)));
        Optional<Node> projection = ChunkedLossHead.headProjection(train, LOGITS, paramDims);
        int chunks = plan.lossChunks() != 0
                ? plan.lossChunks()
                : projection
                        .map(p -> ChunkedLossHead.autoChunks(
                                plan.microBatchTokens(), ChunkedLossHead.vocabulary(train, p, paramDims)))
                        .orElse(1);
        if (chunks > 1 && projection.isEmpty()) {
            throw new UntrainableModelException(
                    "the loss head cannot be chunked (" + chunks + " blocks asked): 'logits' "
                            + "is not made by a MatMul/FusedMatMul/MatMulNBits of the last hidden state and a [hidden, "
                            + "vocabulary] weight, or is used by other nodes. Set lossChunks(1)");
        }
        ChunkedLossHead.Result chunked = null;
        Map<String, String> seeds;
        if (chunks > 1) {
            chunked = ChunkedLossHead.append(train, head, projection.get(), LOGITS, chunks);
            seeds = chunked.seeds();
        } else {
            seeds = Map.of(LOGITS, head.append(train, LOGITS, true, false).dlogits());
        }
        if (plan.computePrecision() == ComputePrecision.FLOAT16) {
            seeds = scaleSeeds(train, seeds);
        }
        List<String> names = params.stream().map(TensorProto::getName).toList();
        for (TensorProto p : params) {
            train.addInput(paramInfo(p, p.getName()));
        }
        List<String> wrt = new ArrayList<>(names);
        if (chunked != null) {
            wrt.addAll(chunked.hiddenBlocks());
        }
        Set<Node> forward = Collections.newSetFromMap(new IdentityHashMap<>());
        forward.addAll(train.nodes());
        Map<Integer, List<Node>> layers = Map.of();
        Map<Integer, String> layerOutputs = Map.of();
        if (plan.gradientCheckpointing()) {
            layers = GradientCheckpointing.layers(train);
            layerOutputs = GradientCheckpointing.outputs(train, layers, GradientCheckpointing.downstream(train, names));
            if (layerOutputs.isEmpty()) {
                throw new UntrainableModelException(
                        "gradient checkpointing found no decoder layer on the path from the "
                                + "trained tensors to the loss (layers are recognised by node names such as /model/layers.N/...); "
                                + "train without gradient checkpointing");
            }
            layerOutputs.values().stream()
                    .filter(t -> !wrt.contains(t))
                    .distinct()
                    .forEach(wrt::add);
        }
        Map<String, String> grads;
        try {
            grads = differentiator.differentiate(train, opset, seeds, wrt);
        } catch (UnsupportedOpException e) {
            throw new UntrainableModelException("cannot differentiate the base model: " + e.getMessage(), e);
        }
        if (chunked != null) {
            ChunkedLossHead.order(
                    train,
                    chunked,
                    chunked.hiddenBlocks().stream().map(grads::get).toList());
            train.sortTopologically();
        }
        if (plan.gradientCheckpointing()) {
            Map<Integer, String> layerGrads = new HashMap<>();
            for (Map.Entry<Integer, String> e : layerOutputs.entrySet()) {
                if (grads.get(e.getValue()) != null) {
                    layerGrads.put(e.getKey(), grads.get(e.getValue()));
                }
            }
            GradientCheckpointing.apply(
                    train,
                    forward,
                    layers,
                    layerOutputs,
                    layerGrads,
                    plan.checkpointing() == Checkpointing.SELECTIVE
                            ? GradientCheckpointing.weightProducts(train, weightMatrices(train, params, plan))
                            : n -> false);
        }
        for (String n : names) {
            if (grads.get(n) == null || grads.get(n).isEmpty()) {
                throw new UntrainableModelException("trainable parameter '" + n + "' does not influence the logits "
                        + "(no differentiable path reaches it: it would get zero gradients and only weight decay); "
                        + "leave it out of the selection");
            }
        }
        if (train.isInput(LOSS_SCALE)) {
            grads = unscale(train, names, grads);
        }
        for (TensorProto p : params) {
            train.addInput(paramInfo(p, p.getName() + TrainingArtifacts.BUFFER_SUFFIX));
        }
        train.addInput(Builders.tensor(TrainingArtifacts.LAZY_RESET_GRAD, DataType.BOOL, 1));
        List<ValueInfoProto> outs = new ArrayList<>();
        for (String n : List.of(ObjectiveHead.LOSS, ObjectiveHead.NLL_SUM, ObjectiveHead.VALID_TOKENS)) {
            outs.add(train.output(n).orElseThrow());
        }
        List<String> squares = new ArrayList<>();
        List<ValueInfoProto> debug = new ArrayList<>();
        List<ValueInfoProto> flags = new ArrayList<>();
        for (TensorProto p : params) {
            String n = p.getName();
            String acc = train.uniqueName(n + "_grad.accumulated");
            String flag = n + TrainingArtifacts.OUT_SUFFIX;
            train.addNode(Node.of(
                            "InPlaceAccumulatorV2",
                            List.of(
                                    n + TrainingArtifacts.BUFFER_SUFFIX,
                                    grads.get(n),
                                    TrainingArtifacts.LAZY_RESET_GRAD),
                            List.of(flag, acc))
                    .domain(OnnxModel.MICROSOFT)
                    .name(train.uniqueName("/accumulate/" + n)));
            String sq = train.uniqueName("/grad_norm/" + n);
            train.addNode(Node.of("ReduceSumSquare", List.of(acc), List.of(sq))
                    .attr("keepdims", 0L)
                    .name(train.uniqueName("/grad_norm/ReduceSumSquare/" + n)));
            squares.add(sq);
            flags.add(Builders.tensor(flag, DataType.BOOL, 1));
            if (plan.exposeGradients()) {
                String dbg = GRAD_DEBUG_PREFIX + n;
                train.addNode(
                        Node.of("Identity", List.of(grads.get(n)), List.of(dbg)).name(train.uniqueName("/debug/" + n)));
                debug.add(paramInfo(p, dbg));
            }
        }
        train.addNode(Node.of("Sum", squares, List.of(GRAD_NORM_SQ)).name(train.uniqueName("/grad_norm/Sum")));
        outs.add(Builders.tensor(GRAD_NORM_SQ, DataType.FLOAT));
        outs.addAll(debug);
        outs.addAll(flags);
        train.outputs().clear();
        train.outputs().addAll(outs);
    }

    /**
     * float16 loss scaling: the backward pass starts from (d loss) × {@code loss_scale}, so small gradients stay above
     * float16's subnormals in the half products; {@link #unscale} divides the parameters' float32 gradients back.
     */
    private static Map<String, String> scaleSeeds(Graph train, Map<String, String> seeds) {
        train.addInput(Builders.tensor(LOSS_SCALE, DataType.FLOAT, 1));
        Map<String, String> scaled = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : seeds.entrySet()) {
            String s = train.uniqueName(e.getValue() + "/scaled");
            train.addNode(Node.of("Mul", List.of(e.getValue(), LOSS_SCALE), List.of(s))
                    .name(train.uniqueName("/loss_scale/Mul/" + e.getKey())));
            scaled.put(e.getKey(), s);
        }
        return scaled;
    }

    /**
     * Divides each parameter's gradient by {@code loss_scale} before accumulation (float32). An overflow in a half
     * product stays infinite or NaN, so {@code grad_norm_sq} is not finite and the trainer skips the step.
     */
    private static Map<String, String> unscale(Graph train, List<String> names, Map<String, String> grads) {
        Map<String, String> out = new HashMap<>(grads);
        for (String n : names) {
            String u = train.uniqueName(grads.get(n) + "/unscaled");
            train.addNode(Node.of("Div", List.of(grads.get(n), LOSS_SCALE), List.of(u))
                    .name(train.uniqueName("/loss_scale/Div/" + n)));
            out.put(n, u);
        }
        return out;
    }

    private static OnnxModel model(OnnxModel base, Graph g, int opset) {
        ModelProto.Builder b = base.proto().toBuilder().setGraph(g.toProto());
        boolean ms = base.proto().getOpsetImportList().stream()
                .anyMatch(o -> o.getDomain().equals(OnnxModel.MICROSOFT));
        if (!ms) {
            b.addOpsetImport(Builders.opset(OnnxModel.MICROSOFT, 1));
        }
        return OnnxModel.of(OpsetUpgrade.withOpset(b, opset).build()); // IR version at least 7, too
    }

    /** Builder of {@link ArtifactBuilder} options. */
    public static final class Builder {
        private long externalDataThreshold = 1024;
        private long checkpointExternalThreshold = 1L << 30;
        private Differentiator differentiator = Differentiator.autodiff();

        private Builder() {}

        /** Initializers of at least this many bytes go to {@code <model>.onnx.data} (default 1024). */
        public Builder externalDataThreshold(long bytes) {
            if (bytes < 0) {
                throw new InvalidArgumentException("external data threshold must be >= 0, got " + bytes);
            }
            this.externalDataThreshold = bytes;
            return this;
        }

        /**
         * The checkpoint's tensors go to {@code checkpoint.data} when they total more than this (default 1 GiB; the
         * flatbuffer cannot exceed 2 GiB). 0 always uses external data.
         */
        public Builder checkpointExternalDataThreshold(long bytes) {
            if (bytes < 0) {
                throw new InvalidArgumentException("checkpoint external data threshold must be >= 0, got " + bytes);
            }
            this.checkpointExternalThreshold = bytes;
            return this;
        }

        /** The differentiator (default: {@link Differentiator#autodiff()}). */
        public Builder differentiator(Differentiator d) {
            if (d == null) {
                throw new InvalidArgumentException("differentiator is required");
            }
            this.differentiator = d;
            return this;
        }

        public ArtifactBuilder build() {
            return new ArtifactBuilder(this);
        }
    }
}
