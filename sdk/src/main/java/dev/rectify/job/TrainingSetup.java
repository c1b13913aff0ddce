package dev.rectify.job;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterExport;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.data.EncodedExample;
import dev.rectify.data.ExampleEncoder;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraTargets;
import dev.rectify.model.BaseModel;
import dev.rectify.model.BundledModel;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.LazyWeights;
import dev.rectify.ort.Device;
import dev.rectify.ort.ExecutionProvider;
import dev.rectify.train.ArtifactCache;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainableLayout;
import dev.rectify.train.Trainer;
import dev.rectify.train.TrainingArtifacts;
import dev.rectify.train.TrainingPlan;
import dev.rectify.train.TrainingResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** One training run of a job: split off held-out examples, tokenize, build (or reuse) artifacts, train, wrap as an Adapter. */
public final class TrainingSetup {
    private TrainingSetup() {}

    /** Trains {@code base} on {@code examples} with {@code options} (whose run folder and resume flag are set). */
    static Adapter train(String id, BaseModel base, List<Example> examples, FineTuneOptions options) {
        List<Example> train = new ArrayList<>(examples);
        List<Example> eval =
                options.evalExamples() == null ? new ArrayList<>() : new ArrayList<>(options.evalExamples());
        int n = heldOutCount(examples.size(), options);
        if (n > 0) {
            Collections.shuffle(train, new Random(options.seed()));
            eval.addAll(train.subList(0, n));
            train = new ArrayList<>(train.subList(n, train.size()));
        }
        ExampleEncoder encoder = base.exampleEncoder(options.maxSeqLength());
        List<EncodedExample> trainEnc = encoder.encodeAll(train);
        List<EncodedExample> evalEnc = eval.isEmpty() ? List.of() : encoder.encodeAll(eval);
        Path modelFile = base.modelFile();
        Set<String> targets = options.fullFineTuning()
                ? Set.of()
                : loraTargets(modelFile, base.config().modelType(), options.loraTargets());
        TrainingPlan plan = plan(options, base.device(), targets);
        TrainingArtifacts artifacts =
                ArtifactCache.at(BundledModel.home().resolve("artifacts")).getOrBuild(modelFile, plan);
        Trainer trainer =
                new Trainer(artifacts, options, base.device().sessionConfig(), base.padTokenId(), options.runDir());
        TrainingResult result = trainer.train(trainEnc, evalEnc);
        return adapter(
                base,
                options,
                targets,
                Adapter.builder()
                        .id(id)
                        .recipe(options.canonical())
                        .weights(result.weights())
                        .result(result));
    }

    /**
     * The adapter of {@code options} over {@code base} with LoRA over {@code targets} (ignored for a full fine-tune):
     * {@code b} already holds the id, recipe, weights and (optional) result.
     */
    static Adapter adapter(BaseModel base, FineTuneOptions options, Set<String> targets, Adapter.Builder b) {
        b.baseModelHash(base.contentHash()).objective(options.objective()).options(options);
        if (options.fullFineTuning()) {
            b.kind(Adapter.Kind.FULL);
        } else {
            AdapterExport.describeBase(
                    b.kind(Adapter.Kind.LORA).lora(options.loraRank(), options.loraAlpha(), targets),
                    base,
                    options.loraDropout());
        }
        return b.build();
    }

    /**
     * How many of {@code examples} examples a run with {@code options} holds out for evaluation: {@code evalFraction}
     * of them (at least 2) when no explicit held-out examples are given and there are 20 or more, else none.
     */
    public static int heldOutCount(int examples, FineTuneOptions options) {
        if (options.evalExamples() == null && options.evalFraction() > 0 && examples >= 20) {
            return Math.max(2, (int) Math.round(options.evalFraction() * examples));
        }
        return 0;
    }

    /**
     * The concrete LoRA target modules for {@code modelFile}: {@code requested} unless it asks for the default
     * ({@value LoraTargets#ALL_LINEAR}), which is resolved on the graph as training sees it ({@link LoraTargets#resolve}).
     */
    public static Set<String> loraTargets(Path modelFile, String modelType, Set<String> requested) {
        if (!requested.isEmpty() && !requested.contains(LoraTargets.ALL_LINEAR)) {
            return requested;
        }
        // the graph with its weights left on disk (memory-mapped where a step such as the half-precision upcast reads
        // them)
        Graph g = TrainableLayout.prepare(LazyWeights.open(modelFile).graph());
        return LoraTargets.resolve(g, requested, modelType);
    }

    /** The training plan of {@code o} on {@code device}, with the options' LoRA targets as given. */
    public static TrainingPlan plan(FineTuneOptions o, Device device) {
        return plan(o, device, o.loraTargets());
    }

    /** The training plan of {@code o} on {@code device}, LoRA over {@code loraTargets}. */
    public static TrainingPlan plan(FineTuneOptions o, Device device, Set<String> loraTargets) {
        boolean cpu = device.provider().kind() == ExecutionProvider.Kind.CPU;
        if (cpu && o.computePrecision().isHalf()) {
            throw new InvalidArgumentException("computePrecision(" + o.computePrecision()
                    + ") needs a CUDA device: ONNX Runtime's CPU provider has no "
                    + o.computePrecision().label()
                    + " MatMul kernels, so the CPU trains in float32. Use computePrecision(FLOAT32) (the default) on the "
                    + "CPU, or train on Device.cuda(0)");
        }
        // the order-independent (repeatable) clipping runs its sequence ops on the CPU; on CUDA, ORT's fused kernel
        TrainingPlan.Builder b = TrainingPlan.builder()
                .objective(o.objective())
                .normalization(o.normalization())
                .betas(o.beta1(), o.beta2())
                .weightDecay(o.weightDecay())
                .maxGradNorm(o.maxGradNorm())
                .deterministicClipping(device.provider().kind() == ExecutionProvider.Kind.CPU)
                .lossChunks(o.lossChunks())
                .microBatchTokens((long) o.microBatchSize() * o.maxSeqLength())
                .checkpointing(o.checkpointing())
                .computePrecision(o.computePrecision());
        if (o.fullFineTuning()) {
            if (o.fullFineTuningPattern() == null) {
                b.fullFineTuning();
            } else {
                b.fullFineTuning(o.fullFineTuningPattern());
            }
        } else {
            b.lora(LoraConfig.builder()
                    .rank(o.loraRank())
                    .alpha(o.loraAlpha())
                    .targetModules(loraTargets)
                    .seed(o.seed())
                    .dropout(o.loraDropout())
                    .build());
        }
        return b.build();
    }
}
