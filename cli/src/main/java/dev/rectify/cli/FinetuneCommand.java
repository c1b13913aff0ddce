package dev.rectify.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.Rectify;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.job.TrainingSetup;
import dev.rectify.model.BaseModel;
import dev.rectify.train.Checkpointing;
import dev.rectify.train.EvalMetrics;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.HyperparameterNames;
import dev.rectify.train.Hyperparameters;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rectify finetune}: one fine-tuning run from a JSONL file to an adapter folder. */
@Command(
        name = "finetune",
        mixinStandardHelpOptions = true,
        description = {
            "Fine-tune a model (the bundled one by default) on JSONL demonstrations and write the adapter.",
            "Data lines: {\"prompt\", \"completion\"} or {\"messages\": [...]} (OpenAI/TRL formats).",
            "Writes the adapter, trainer_state.json (Hugging Face Trainer's metrics log) and PNG plots of the",
            "training curves and the learning rate into the output folder.",
            "The last two lines printed are the held-out NLL before and after."
        })
final class FinetuneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "DATA.jsonl", description = "Training data (or --data).")
    Path dataArg;

    @Option(names = "--data", paramLabel = "FILE", description = "Training data, JSON Lines.")
    Path data;

    @Option(
            names = "--eval-data",
            paramLabel = "FILE",
            description = "Held-out data (default: split --eval-fraction off the data).")
    Path evalData;

    @Option(
            names = "--eval-fraction",
            description = "Fraction held out when no --eval-data (default ${rectify.default.eval_fraction}).")
    Double evalFraction;

    @Option(
            names = {"-m", "--model"},
            description = "Model folder. Default: the bundled model.")
    Path model;

    @Option(
            names = {"-o", "--out"},
            description = "Adapter output folder (default: adapters/<the first 16 hex digits of the adapter id>).")
    Path out;

    @Option(
            names = "--objective",
            description = "dft, sft, dft-clamped:C or mix:LAMBDA (default ${rectify.default.objective}).")
    String objective;

    @Option(
            names = {"--epochs", "--num-train-epochs"},
            description = "Epochs (default ${rectify.default.epochs}).")
    Integer epochs;

    @Option(names = "--max-steps", description = "Optimizer steps instead of epochs.")
    Integer maxSteps;

    @Option(names = "--lora-rank", description = "LoRA rank (default ${rectify.default.lora_rank}).")
    Integer loraRank;

    @Option(names = "--lora-alpha", description = "LoRA alpha (default 2 x rank).")
    Double loraAlpha;

    @Option(
            names = {"--lora-targets", "--target-modules"},
            split = ",",
            paramLabel = "MODULE[,MODULE...]",
            description =
                    "LoRA target modules (default ${rectify.default.lora_targets}; c_attn,c_proj,c_fc for GPT-2).")
    List<String> loraTargets;

    @Option(
            names = "--lora-dropout",
            description =
                    "Dropout on each LoRA branch's input while training, PEFT's lora_dropout (default ${rectify.default.lora_dropout}).")
    Double loraDropout;

    @Option(names = "--full", description = "Full fine-tuning of every weight instead of LoRA.")
    Boolean full;

    @Option(
            names = {"--learning-rate", "--lr"},
            description = "Peak learning rate (default 2e-4 LoRA, 5e-5 full).")
    Double learningRate;

    @Option(
            names = {"--schedule", "--lr-scheduler-type"},
            description =
                    "cosine, linear, constant (no warmup) or constant_with_warmup, as Hugging Face's (default ${rectify.default.schedule}).")
    String schedule;

    @Option(
            names = "--warmup-ratio",
            description = "Fraction of the steps spent warming up (default ${rectify.default.warmup_ratio}).")
    Double warmupRatio;

    @Option(
            names = "--batch-size",
            description = "Examples per optimizer step (default ${rectify.default.batch_size}).")
    Integer batchSize;

    @Option(
            names = {"--micro-batch-size", "--per-device-train-batch-size"},
            description = "Examples per forward pass (default ${rectify.default.micro_batch_size}).")
    Integer microBatchSize;

    @Option(
            names = "--gradient-accumulation-steps",
            description = "Micro-batches per optimizer step (instead of --batch-size).")
    Integer gradientAccumulationSteps;

    @Option(
            names = {"--max-seq-length", "--max-length"},
            description = "Longest sequence (default ${rectify.default.max_seq_length}).")
    Integer maxSeqLength;

    @Option(names = "--seed", description = "Seed (default ${rectify.default.seed}).")
    Long seed;

    @Option(names = "--weight-decay", description = "AdamW weight decay (default ${rectify.default.weight_decay}).")
    Double weightDecay;

    @Option(
            names = "--max-grad-norm",
            description =
                    "Clip the global gradient norm to this (0: no clipping; default ${rectify.default.max_grad_norm}).")
    Double maxGradNorm;

    @Option(
            names = {"--eval-every", "--eval-steps"},
            description = "Evaluate every N steps (0: at each epoch's end; default ${rectify.default.eval_every}).")
    Integer evalEvery;

    @Option(
            names = {"--early-stopping-patience", "--patience"},
            description =
                    "Stop after N evaluations without a better held-out NLL (0: never; default ${rectify.default.early_stopping_patience}).")
    Integer patience;

    @Option(names = "--run-dir", description = "Checkpoint folder (default: under $RECTIFY_HOME/runs).")
    Path runDir;

    @Option(
            names = "--checkpoint-every",
            defaultValue = "0",
            description = "Checkpoint every N steps (0: only at the end).")
    int checkpointEvery;

    @Option(names = "--resume", description = "Continue from the last checkpoint in --run-dir.")
    boolean resume;

    @Option(
            names = "--checkpointing",
            defaultValue = "none",
            description = "Activation memory: none, layers (recompute each decoder layer in the backward pass) or "
                    + "selective (recompute all but the weight products) (default ${DEFAULT-VALUE}).")
    String checkpointing;

    @Option(
            names = "--loss-chunks",
            defaultValue = "0",
            description = "Run the loss head over K blocks of tokens (0: automatic; default ${DEFAULT-VALUE}).")
    int lossChunks;

    @Option(
            names = "--device",
            defaultValue = "cpu",
            description = "cpu, cpu:THREADS, cuda or cuda:ID (default ${DEFAULT-VALUE}).")
    String device;

    static {
        // the help shows the SDK's one set of defaults (picocli resolves ${rectify.default.*} from system properties)
        Hyperparameters d = Hyperparameters.DEFAULTS;
        Map<String, Object> shown = Map.of(
                "objective",
                d.objective(),
                "epochs",
                d.epochs(),
                "lora_rank",
                d.loraRank(),
                "lora_targets",
                String.join(",", d.loraTargets()),
                "schedule",
                d.schedule().name().toLowerCase(Locale.ROOT),
                "warmup_ratio",
                d.warmupRatio(),
                "batch_size",
                d.batchSize(),
                "micro_batch_size",
                d.microBatchSize(),
                "max_seq_length",
                d.maxSeqLength(),
                "seed",
                d.seed());
        Map<String, Object> more = Map.of(
                "weight_decay",
                d.weightDecay(),
                "max_grad_norm",
                d.maxGradNorm(),
                "eval_every",
                d.evalEvery(),
                "early_stopping_patience",
                d.earlyStoppingPatience(),
                "eval_fraction",
                d.evalFraction(),
                "lora_dropout",
                d.loraDropout());
        shown.forEach((k, v) -> System.setProperty("rectify.default." + k, String.valueOf(v)));
        more.forEach((k, v) -> System.setProperty("rectify.default." + k, String.valueOf(v)));
    }

    /** The hyperparameters given on the command line, by their SDK names (none given: the SDK's defaults). */
    private Map<String, JsonNode> given() {
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("epochs", epochs);
        v.put("max_steps", maxSteps);
        v.put("full", full);
        v.put("lora_rank", loraRank);
        v.put("lora_alpha", loraAlpha);
        v.put("lora_targets", loraTargets);
        v.put("lora_dropout", loraDropout);
        v.put("learning_rate", learningRate);
        v.put("schedule", schedule);
        v.put("warmup_ratio", warmupRatio);
        v.put("batch_size", batchSize);
        v.put("micro_batch_size", microBatchSize);
        v.put("gradient_accumulation_steps", gradientAccumulationSteps);
        v.put("max_seq_length", maxSeqLength);
        v.put("seed", seed);
        v.put("eval_fraction", evalFraction);
        v.put("eval_every", evalEvery);
        v.put("early_stopping_patience", patience);
        v.put("weight_decay", weightDecay);
        v.put("max_grad_norm", maxGradNorm);
        Map<String, JsonNode> out = new LinkedHashMap<>();
        v.forEach((k, x) -> {
            if (x != null) {
                out.put(k, json.valueToTree(x));
            }
        });
        return out;
    }

    private static Checkpointing checkpointing(String name) {
        for (Checkpointing c : Checkpointing.values()) {
            if (c.name().equalsIgnoreCase(name)) {
                return c;
            }
        }
        throw new InvalidArgumentException("--checkpointing must be none, layers or selective, got '" + name + "'");
    }

    @Override
    public Integer call() {
        Path train = data != null ? data : dataArg;
        if (train == null) {
            throw new InvalidArgumentException("no training data: give DATA.jsonl or --data FILE");
        }
        List<Example> examples = JsonlDataset.read(train);
        FineTuneOptions.Builder b = FineTuneOptions.builder();
        if (objective != null) {
            b.objective(Objective.parse(objective));
        }
        HyperparameterNames.apply(given(), b, "option ");
        b.checkpointEvery(checkpointEvery).resume(resume).runDir(runDir);
        b.checkpointing(checkpointing(checkpointing)).lossChunks(lossChunks);
        if (evalData != null) {
            b.evalExamples(JsonlDataset.read(evalData));
        }
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter o = spec.commandLine().getOut();
        try (ProgressDisplay progress = new ProgressDisplay("finetune", err);
                BaseModel m = Models.open(model, device)) {
            b.onProgress(progress::update);
            Adapter adapter = Rectify.fineTune(m, examples, b.build());
            progress.close();
            Path target = out != null ? out : Path.of("adapters", adapter.id().substring(0, 16));
            AdapterFiles.write(adapter, target);
            TrainingResult result = adapter.result().orElseThrow();
            if (result.history().isEmpty()) {
                // an identical earlier fine-tune's stored adapter was returned: nothing trained, nothing to log
                err.println("note: reused the stored adapter of an identical earlier fine-tune; no training ran, so no "
                        + TrainerState.FILE + " or plots (give --run-dir to train again)");
            } else {
                FineTuneOptions used = b.build();
                int trainCount = examples.size() - TrainingSetup.heldOutCount(examples.size(), used);
                int stepsPerEpoch = (trainCount + used.batchSize() - 1) / used.batchSize();
                TrainerState.write(TrainerState.of(result, used, stepsPerEpoch), target);
                Map<String, List<TrainingProgress>> curves =
                        Map.of(adapter.objective().map(Objective::toString).orElse("run"), result.history());
                Charts.trainingCurves(
                        curves, target.resolve("training_objective.png"), target.resolve("training_nll.png"));
                Charts.learningRate(curves, target.resolve("learning_rate.png"));
            }
            EvalMetrics before = adapter.result().orElseThrow().initialEval();
            EvalMetrics after = adapter.result().orElseThrow().finalEval();
            o.printf(
                    "adapter %s (%s, %d trained parameters) written to %s%n",
                    adapter.id().substring(0, 16),
                    adapter.objective().map(Objective::toString).orElse("?"),
                    adapter.weights().parameterCount(),
                    target);
            if (before.isEmpty()) {
                o.println("held-out NLL before: n/a (no held-out examples)");
                o.println("held-out NLL after: n/a (no held-out examples)");
            } else {
                o.printf("held-out NLL before: %.4f%n", before.nll());
                o.printf("held-out NLL after: %.4f%n", after.nll());
            }
            o.flush();
        }
        return 0;
    }
}
