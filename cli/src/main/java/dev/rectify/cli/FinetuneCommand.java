package dev.rectify.cli;

import dev.rectify.Rectify;
import dev.rectify.adapter.Adapter;
import dev.rectify.model.BaseModel;
import dev.rectify.core.Example;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.train.EvalMetrics;
import dev.rectify.train.LrSchedule;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rectify finetune}: one fine-tuning run from a JSONL file to an adapter folder. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Fine-tune a model (the bundled one by default) on JSONL demonstrations and write the adapter.",
            "Data lines: {\"prompt\", \"completion\"} or {\"messages\": [...]} (OpenAI/TRL formats).",
            "The last two lines printed are the held-out NLL before and after."})
final class FinetuneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "DATA.jsonl", description = "Training data (or --data).")
    Path dataArg;

    @Option(names = "--data", paramLabel = "FILE", description = "Training data, JSON Lines.")
    Path data;

    @Option(names = "--eval-data", paramLabel = "FILE", description = "Held-out data (default: split --eval-fraction off the data).")
    Path evalData;

    @Option(names = "--eval-fraction", defaultValue = "0.1", description = "Fraction held out when no --eval-data (default ${DEFAULT-VALUE}).")
    double evalFraction;

    @Option(names = {"-m", "--model"}, description = "Model folder. Default: the bundled model.")
    Path model;

    @Option(names = {"-o", "--out"}, description = "Adapter output folder (default: adapters/<the first 16 hex digits of the adapter id>).")
    Path out;

    @Option(names = "--objective", defaultValue = "dft", description = "dft, sft, dft-clamped:C or mix:LAMBDA (default ${DEFAULT-VALUE}).")
    String objective;

    @Option(names = "--epochs", description = "Epochs (default 3).")
    Integer epochs;

    @Option(names = "--max-steps", description = "Optimizer steps instead of epochs.")
    Integer maxSteps;

    @Option(names = "--lora-rank", defaultValue = "16", description = "LoRA rank (default ${DEFAULT-VALUE}).")
    int loraRank;

    @Option(names = "--lora-alpha", description = "LoRA alpha (default 2 x rank).")
    Double loraAlpha;

    @Option(names = "--lora-targets", split = ",", paramLabel = "MODULE[,MODULE...]",
            description = "LoRA target modules, e.g. q_proj,v_proj or c_attn (default: all-linear, every linear "
                    + "projection inside the decoder layers, never the head).")
    List<String> loraTargets;

    @Option(names = "--full", description = "Full fine-tuning of every float weight of rank >= 2 instead of LoRA.")
    boolean full;

    @Option(names = {"--learning-rate", "--lr"}, description = "Peak learning rate (default 2e-4 LoRA, 5e-5 full).")
    Double learningRate;

    @Option(names = "--schedule", defaultValue = "COSINE", description = "COSINE, LINEAR or CONSTANT (default ${DEFAULT-VALUE}).")
    LrSchedule schedule;

    @Option(names = "--batch-size", defaultValue = "8", description = "Examples per optimizer step (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--micro-batch-size", defaultValue = "4", description = "Examples per forward pass (default ${DEFAULT-VALUE}).")
    int microBatchSize;

    @Option(names = "--max-seq-length", defaultValue = "512", description = "Longest sequence (default ${DEFAULT-VALUE}).")
    int maxSeqLength;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--run-dir", description = "Checkpoint folder (default: under $RECTIFY_HOME/runs).")
    Path runDir;

    @Option(names = "--checkpoint-every", defaultValue = "0", description = "Checkpoint every N steps (0: only at the end).")
    int checkpointEvery;

    @Option(names = "--resume", description = "Continue from the last checkpoint in --run-dir.")
    boolean resume;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cpu:THREADS, cuda or cuda:ID (default ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() {
        Path train = data != null ? data : dataArg;
        if (train == null) {
            throw new InvalidArgumentException("no training data: give DATA.jsonl or --data FILE");
        }
        List<Example> examples = JsonlDataset.read(train);
        FineTuneOptions.Builder b = FineTuneOptions.builder().objective(Objective.parse(objective)).schedule(schedule)
                .batchSize(batchSize).microBatchSize(microBatchSize).maxSeqLength(maxSeqLength).seed(seed)
                .evalFraction(evalFraction).checkpointEvery(checkpointEvery).resume(resume).runDir(runDir);
        if (full) {
            if (loraTargets != null) {
                throw new InvalidArgumentException("--lora-targets and --full do not go together");
            }
            b.fullFineTuning();
        } else {
            b.lora(loraRank, loraAlpha != null ? loraAlpha : 2.0 * loraRank);
            if (loraTargets != null) {
                b.loraTargets(loraTargets.toArray(new String[0]));
            }
        }
        if (epochs != null) {
            b.epochs(epochs);
        }
        if (maxSteps != null) {
            b.maxSteps(maxSteps);
        }
        if (learningRate != null) {
            b.learningRate(learningRate);
        }
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
            EvalMetrics before = adapter.result().orElseThrow().initialEval();
            EvalMetrics after = adapter.result().orElseThrow().finalEval();
            o.printf("adapter %s (%s, %d trained parameters) written to %s%n", adapter.id().substring(0, 16),
                    adapter.objective().map(Objective::toString).orElse("?"), adapter.weights().parameterCount(), target);
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
