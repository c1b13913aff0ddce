package dev.rectify.job;

import dev.rectify.core.ModelFormatException;
import dev.rectify.core.RectifyException;
import dev.rectify.model.BundledModel;
import dev.rectify.ort.Device;
import dev.rectify.adapter.Adapter;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.data.EncodedExample;
import dev.rectify.data.ExampleEncoder;
import dev.rectify.lora.LoraConfig;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.lora.LoraTargets;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.train.ArtifactCache;
import dev.rectify.core.io.ContentHash;
import dev.rectify.train.Trainer;
import dev.rectify.train.TrainingArtifacts;
import dev.rectify.train.TrainingPlan;
import dev.rectify.train.TrainableLayout;
import dev.rectify.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

/** One fine-tuning request: split, tokenize, build (or reuse) artifacts, train, wrap the weights as an Adapter. */
public final class FineTuneRun {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FineTuneRun.class);
    private final BaseModel base;
    private final List<Example> examples;
    private final FineTuneOptions options;
    private final AdapterStore store;

    public FineTuneRun(BaseModel base, List<Example> examples, FineTuneOptions options) {
        this(base, examples, options, AdapterStore.defaultStore());
    }

    /** {@code store} may be null: then nothing is looked up or stored. */
    public FineTuneRun(BaseModel base, List<Example> examples, FineTuneOptions options, AdapterStore store) {
        this.base = base;
        this.examples = examples;
        this.options = options;
        this.store = store;
    }

    public Adapter run() {
        if (examples == null || examples.isEmpty()) {
            throw new InvalidArgumentException("no examples to fine-tune on: the list is empty");
        }
        List<Example> train = new ArrayList<>(examples);
        List<Example> eval = options.evalExamples() == null ? new ArrayList<>() : new ArrayList<>(options.evalExamples());
        if (options.evalExamples() == null && options.evalFraction() > 0 && examples.size() >= 20) {
            Collections.shuffle(train, new Random(options.seed()));
            int n = Math.max(2, (int) Math.round(options.evalFraction() * examples.size()));
            eval.addAll(train.subList(0, n));
            train = new ArrayList<>(train.subList(n, train.size()));
        }
        ExampleEncoder encoder = base.exampleEncoder(options.maxSeqLength());
        List<EncodedExample> trainEnc = encoder.encodeAll(train);
        List<EncodedExample> evalEnc = eval.isEmpty() ? List.of() : encoder.encodeAll(eval);

        Path modelFile = base.directory().resolve("model.onnx");
        Set<String> targets = options.fullFineTuning() ? Set.of() : loraTargets(modelFile, base.config().modelType(),
                options.loraTargets());
        TrainingPlan plan = plan(options, base.device(), targets);
        String baseHash = base.contentHash();
        String id = ContentHash.of(baseHash + "\n" + dataHash(examples, options) + "\n" + options.canonical());
        if (store == null) {
            return train(id, baseHash, modelFile, plan, targets, trainEnc, evalEnc);
        }
        if (options.resume() || options.runDir() != null) {
            // a run the caller manages (its own checkpoint folder, or resuming one): always train, then store
            Adapter a = train(id, baseHash, modelFile, plan, targets, trainEnc, evalEnc);
            try {
                store.put(a);
            } catch (RectifyException e) {
                LOG.warn("could not store adapter {}: {}", id.substring(0, 12), e.getMessage());
            }
            return a;
        }
        // the same base, data, objective and options name the same adapter: reuse it, and train concurrent
        // identical requests once
        Adapter a = store.getOrCreate(id, () -> train(id, baseHash, modelFile, plan, targets, trainEnc, evalEnc));
        return a.options().orElse(null) == options ? a : a.withOptions(options);
    }

    private Adapter train(String id, String baseHash, Path modelFile, TrainingPlan plan, Set<String> targets,
            List<EncodedExample> trainEnc, List<EncodedExample> evalEnc) {
        TrainingArtifacts artifacts = ArtifactCache.at(BundledModel.home().resolve("artifacts")).getOrBuild(modelFile, plan);
        Path runDir = options.runDir() != null ? options.runDir() : BundledModel.home().resolve("runs").resolve(id.substring(0, 24));
        Trainer trainer = new Trainer(artifacts, options, base.device().sessionConfig(), base.padTokenId(), runDir);
        TrainingResult result = trainer.train(trainEnc, evalEnc);
        Adapter.Builder b = Adapter.builder().id(id).baseModelHash(baseHash).objective(options.objective())
                .recipe(options.canonical()).weights(result.weights()).result(result).options(options);
        if (options.fullFineTuning()) {
            b.kind(Adapter.Kind.FULL);
        } else {
            b.kind(Adapter.Kind.LORA).lora(options.loraRank(), options.loraAlpha(), targets);
        }
        return b.build();
    }

    /**
     * The concrete LoRA target modules for {@code modelFile}: {@code requested} unless it asks for the default
     * ({@value LoraTargets#ALL_LINEAR}), which is resolved on the graph as training sees it ({@link LoraTargets#resolve}).
     */
    static Set<String> loraTargets(Path modelFile, String modelType, Set<String> requested) {
        if (!requested.isEmpty() && !requested.contains(LoraTargets.ALL_LINEAR)) {
            return requested;
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(modelFile); // the graph only: external weights are not needed for names
        } catch (IOException e) {
            throw ModelFormatException.at(modelFile, "cannot read: " + e.getMessage(), e);
        }
        Graph g = TrainableLayout.prepare(OnnxModel.parse(bytes).graph());
        return LoraTargets.resolve(g, requested, modelType);
    }

    static TrainingPlan plan(FineTuneOptions o, Device device) {
        return plan(o, device, o.loraTargets());
    }

    static TrainingPlan plan(FineTuneOptions o, Device device, Set<String> loraTargets) {
        // the order-independent (repeatable) clipping runs its sequence ops on the CPU; on CUDA, ORT's fused kernel
        TrainingPlan.Builder b = TrainingPlan.builder().objective(o.objective()).normalization(o.normalization())
                .betas(o.beta1(), o.beta2()).weightDecay(o.weightDecay()).maxGradNorm(o.maxGradNorm())
                .deterministicClipping(device.provider().kind() == dev.rectify.ort.ExecutionProvider.Kind.CPU);
        if (o.fullFineTuning()) {
            if (o.fullFineTuningPattern() == null) {
                b.fullFineTuning();
            } else {
                b.fullFineTuning(o.fullFineTuningPattern());
            }
        } else {
            b.lora(LoraConfig.builder().rank(o.loraRank()).alpha(o.loraAlpha()).targetModules(loraTargets).seed(o.seed()).build());
        }
        return b.build();
    }

    private static String dataHash(List<Example> examples, FineTuneOptions o) {
        StringBuilder s = new StringBuilder();
        for (Example e : examples) {
            s.append(e).append('\n');
        }
        if (o.evalExamples() != null) {
            s.append("eval:\n");
            for (Example e : o.evalExamples()) {
                s.append(e).append('\n');
            }
        }
        return ContentHash.of(s.toString());
    }
}
