package dev.rectify.bench.prior;

import dev.rectify.core.Objective;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What the prior-strength experiment runs. The defaults are the reported experiment; the toy setting of the test
 * suite trims data, seeds and generation length.
 *
 * @param out report folder (results.json, results.md, plots)
 * @param work cache of built bases, adapters and per-run outcomes (resumable)
 * @param data folder with train, heldout, near_ood, ood and valid .jsonl
 * @param recipe the bundled model's recipe folder (builds the bases)
 * @param bundled the bundled model's folder (the 100 % base)
 * @param bases base names, weakest prior first
 * @param methods fine-tuning objectives compared
 * @param seeds runs per method and base (seeds 42, 43, ...)
 * @param learningRates the search grid, the same for every method
 * @param threads ONNX Runtime and PyTorch threads
 * @param trainLimit first N training examples (0: all)
 * @param evalLimit first N problems of each evaluation set (0: all)
 * @param maxNewTokens greedy generation length per answer
 * @param epochs fine-tuning epochs
 * @param loraRank LoRA rank (alpha is twice the rank)
 */
public record ExperimentSettings(
        Path out,
        Path work,
        Path data,
        Path recipe,
        Path bundled,
        List<String> bases,
        List<Objective> methods,
        int seeds,
        List<Double> learningRates,
        int threads,
        int trainLimit,
        int evalLimit,
        int maxNewTokens,
        int epochs,
        int loraRank) {
    /** The first seed; later ones count up from it. */
    public static final long FIRST_SEED = 42;

    /** The reported experiment's settings, overridden by {@code --name value} pairs. */
    public static ExperimentSettings parse(String... args) {
        Path out = Path.of("docs/experiments/prior-strength");
        Path work = Path.of("target/prior-strength");
        Path data = Path.of("data/math");
        Path recipe = Path.of("models/rectify-tiny/recipe");
        Path bundled = Path.of("models/rectify-tiny");
        List<String> bases = List.of("b10", "b30", "b30-nochat", "b100");
        List<Objective> methods = List.of(Objective.SFT, Objective.DFT, Objective.dftClamped(0.1), Objective.mix(0.5));
        int seeds = 5;
        List<Double> lrs = List.of(2e-4, 5e-4, 1e-3);
        int threads = 2;
        int trainLimit = 0;
        int evalLimit = 0;
        int maxNewTokens = 512;
        int epochs = 2;
        int rank = 16;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            if (v == null) {
                throw new IllegalArgumentException(args[i] + " needs a value");
            }
            switch (args[i++]) {
                case "--out" -> out = Path.of(v);
                case "--work" -> work = Path.of(v);
                case "--data" -> data = Path.of(v);
                case "--recipe" -> recipe = Path.of(v);
                case "--bundled" -> bundled = Path.of(v);
                case "--bases" -> bases = List.of(v.split(","));
                case "--methods" ->
                    methods = Arrays.stream(v.split(",")).map(Objective::parse).toList();
                case "--seeds" -> seeds = Integer.parseInt(v);
                case "--lrs" ->
                    lrs = Arrays.stream(v.split(",")).map(Double::parseDouble).toList();
                case "--threads" -> threads = Integer.parseInt(v);
                case "--train-limit" -> trainLimit = Integer.parseInt(v);
                case "--eval-limit" -> evalLimit = Integer.parseInt(v);
                case "--max-new-tokens" -> maxNewTokens = Integer.parseInt(v);
                case "--epochs" -> epochs = Integer.parseInt(v);
                case "--lora-rank" -> rank = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i - 1]);
            }
        }
        if (seeds < 2) {
            throw new IllegalArgumentException("--seeds must be at least 2 (intervals and paired tests need them)");
        }
        return new ExperimentSettings(
                out,
                work,
                data,
                recipe,
                bundled,
                bases,
                methods,
                seeds,
                lrs,
                threads,
                trainLimit,
                evalLimit,
                maxNewTokens,
                epochs,
                rank);
    }

    /** The settings that change a run's outcome (runs cached under other settings are not reused). */
    String resultKey() {
        return "train=" + trainLimit + ",eval=" + evalLimit + ",tokens=" + maxNewTokens + ",epochs=" + epochs + ",rank="
                + loraRank + ",threads=" + threads;
    }
}
