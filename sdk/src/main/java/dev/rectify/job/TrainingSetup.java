package dev.rectify.job;

import dev.rectify.Adapter;
import dev.rectify.BaseModel;
import dev.rectify.BundledModel;
import dev.rectify.Device;
import dev.rectify.Example;
import dev.rectify.FineTuneOptions;
import dev.rectify.ModelFormatException;
import dev.rectify.data.EncodedExample;
import dev.rectify.data.ExampleEncoder;
import dev.rectify.lora.LoraConfig;
import dev.rectify.ort.ExecutionProvider;
import dev.rectify.train.ArtifactCache;
import dev.rectify.train.Trainer;
import dev.rectify.train.TrainingArtifacts;
import dev.rectify.train.TrainingPlan;
import dev.rectify.train.TrainingResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** One training run of a job: split off held-out examples, tokenize, build (or reuse) artifacts, train, wrap as an Adapter. */
public final class TrainingSetup {
    private TrainingSetup() {
    }

    /** Trains {@code base} on {@code examples} with {@code options} (whose run folder and resume flag are set). */
    static Adapter train(String id, BaseModel base, List<Example> examples, FineTuneOptions options) {
        List<Example> train = new ArrayList<>(examples);
        List<Example> eval = options.evalExamples() == null ? new ArrayList<>() : new ArrayList<>(options.evalExamples());
        if (options.evalExamples() == null && options.evalFraction() > 0 && examples.size() >= 20) {
            Collections.shuffle(train, new Random(options.seed()));
            int n = Math.max(2, (int) Math.round(options.evalFraction() * examples.size()));
            eval.addAll(train.subList(0, n));
            train = new ArrayList<>(train.subList(n, train.size()));
        }
        ExampleEncoder encoder = encoder(base, options);
        List<EncodedExample> trainEnc = encoder.encodeAll(train);
        List<EncodedExample> evalEnc = eval.isEmpty() ? List.of() : encoder.encodeAll(eval);
        TrainingPlan plan = plan(options, base.device());
        Path modelFile = base.directory().resolve("model.onnx");
        TrainingArtifacts artifacts = ArtifactCache.at(BundledModel.home().resolve("artifacts")).getOrBuild(modelFile, plan);
        Trainer trainer = new Trainer(artifacts, options, base.device().sessionConfig(), base.padTokenId(), options.runDir());
        TrainingResult result = trainer.train(trainEnc, evalEnc);
        Adapter.Builder b = Adapter.builder().id(id).baseModelHash(base.contentHash()).objective(options.objective())
                .recipe(options.canonical()).weights(result.weights()).result(result).options(options);
        if (options.fullFineTuning()) {
            b.kind(Adapter.Kind.FULL);
        } else {
            b.kind(Adapter.Kind.LORA).lora(options.loraRank(), options.loraAlpha(), options.loraTargets());
        }
        return b.build();
    }

    /** The encoder for {@code base}: chat template when the model has one, its end-of-sequence token. */
    public static ExampleEncoder encoder(BaseModel base, FineTuneOptions options) {
        long eos = -1;
        if (base.tokenizerConfig().eosToken() != null) {
            eos = base.tokenizer().specialTokenId(base.tokenizerConfig().eosToken());
        }
        if (eos < 0) {
            eos = base.eosTokenIds().stream().findFirst().orElseThrow(() -> new ModelFormatException(base.directory()
                    + ": no end-of-sequence token in config.json, generation_config.json or tokenizer_config.json"));
        }
        int max = base.contextLength() > 0 ? Math.min(options.maxSeqLength(), base.contextLength()) : options.maxSeqLength();
        return new ExampleEncoder(base.tokenizer(), base.chatTemplate().orElse(null), eos, max);
    }

    /** The training plan of {@code o} on {@code device}. */
    public static TrainingPlan plan(FineTuneOptions o, Device device) {
        // the order-independent (repeatable) clipping runs its sequence ops on the CPU; on CUDA, ORT's fused kernel
        TrainingPlan.Builder b = TrainingPlan.builder().objective(o.objective()).normalization(o.normalization())
                .betas(o.beta1(), o.beta2()).weightDecay(o.weightDecay()).maxGradNorm(o.maxGradNorm())
                .deterministicClipping(device.provider().kind() == ExecutionProvider.Kind.CPU);
        if (o.fullFineTuning()) {
            b.fullFineTuning(o.fullFineTuningPattern());
        } else {
            b.lora(LoraConfig.builder().rank(o.loraRank()).alpha(o.loraAlpha()).targetModules(o.loraTargets()).seed(o.seed()).build());
        }
        return b.build();
    }
}
