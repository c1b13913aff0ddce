package dev.rectify.train;

import dev.rectify.core.Objective;
import dev.rectify.lora.LoraTargets;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Every setting that determines a fine-tune's weights, as one value, with the one set of defaults Rectify uses
 * everywhere (the SDK's {@code FineTuneOptions}, the CLI's {@code finetune} and batch manifests, the server's
 * hyperparameters): DFT, LoRA r=16 α=32 (twice the rank) on the attention and MLP projections, 3 epochs, learning
 * rate 2e-4 (LoRA) or 5e-5 (full), cosine schedule with 10% warmup (Hugging Face's: rate 0 on the first step), no LoRA dropout, batch 8 in micro-batches of 4, sequences up to
 * 512 tokens, AdamW β=(0.9, 0.95), weight decay 0.01, gradient clipping at 1.0, normalisation by the step's token
 * count, 10% held out (when there are 20 or more examples), evaluation at each epoch's end, no early stopping,
 * seed 42, at most 5 non-finite steps.
 *
 * <p>{@link #encode()} is the stable, explicit, versioned text that fingerprints these settings: every component is
 * written by name, numbers exactly ({@link Double#toHexString}), so no JDK formatting change alters an id. A new
 * component must be added to {@link #fields()} (a test compares the record's components with the encoded keys) and,
 * when it changes existing ids, {@link #ENCODING} bumped.
 *
 * @param loraDropout dropout probability on each LoRA branch's input while training (PEFT's {@code lora_dropout})
 * @param maxSteps optimizer steps to run, or -1 to run {@code epochs} epochs
 * @param evalEvery evaluate every this many steps (0: at the end of each epoch)
 * @param earlyStoppingPatience stop after this many evaluations without a better held-out NLL (0: never)
 * @param maxGradNorm clip the global gradient norm to this value (0: no clipping)
 */
public record Hyperparameters(
        Objective objective,
        boolean fullFineTuning,
        String fullPattern,
        int loraRank,
        double loraAlpha,
        List<String> loraTargets,
        double loraDropout,
        int epochs,
        int maxSteps,
        double learningRate,
        LrSchedule schedule,
        double warmupRatio,
        int batchSize,
        int microBatchSize,
        int maxSeqLength,
        double evalFraction,
        int evalEvery,
        int earlyStoppingPatience,
        long seed,
        double maxGradNorm,
        double weightDecay,
        double beta1,
        double beta2,
        Normalization normalization,
        int maxNonFiniteSteps) {
    /** The name and version of {@link #encode()}'s format. */
    public static final String ENCODING = "rectify-hyperparameters/2";

    /** The default LoRA rank; its alpha defaults to {@link #defaultLoraAlpha(int)}. */
    public static final int DEFAULT_LORA_RANK = 16;

    /** The one set of defaults. */
    public static final Hyperparameters DEFAULTS = new Hyperparameters(
            Objective.DFT,
            false,
            null,
            DEFAULT_LORA_RANK,
            defaultLoraAlpha(DEFAULT_LORA_RANK),
            List.of(LoraTargets.ALL_LINEAR),
            0.0,
            3,
            -1,
            defaultLearningRate(false),
            LrSchedule.COSINE,
            0.1,
            8,
            4,
            512,
            0.1,
            0,
            0,
            42,
            1.0,
            0.01,
            0.9,
            0.95,
            Normalization.STEP_TOKENS,
            5);

    /** Targets sorted and copied: their order never changes an id. */
    public Hyperparameters {
        loraTargets = loraTargets == null ? List.of() : List.copyOf(new TreeSet<>(loraTargets));
    }

    /** The default peak learning rate: 2e-4 for LoRA, 5e-5 for full fine-tuning. */
    public static double defaultLearningRate(boolean fullFineTuning) {
        return fullFineTuning ? 5e-5 : 2e-4;
    }

    /** The default LoRA alpha for {@code rank}: twice the rank (an update scale of 2). */
    public static double defaultLoraAlpha(int rank) {
        return 2.0 * rank;
    }

    /**
     * Each component's encoded value under its name, in declaration order. Written out by hand, on purpose: a
     * component missing here is caught by a test, not silently left out of fingerprints.
     */
    public Map<String, String> fields() {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("objective", objective.kind().name() + ":" + Double.toHexString(objective.parameter()));
        f.put("fullFineTuning", Boolean.toString(fullFineTuning));
        f.put("fullPattern", quote(fullPattern));
        f.put("loraRank", Integer.toString(loraRank));
        f.put("loraAlpha", Double.toHexString(loraAlpha));
        StringBuilder targets = new StringBuilder("[");
        for (String t : loraTargets) {
            targets.append(targets.length() > 1 ? "," : "").append(quote(t));
        }
        f.put("loraTargets", targets.append(']').toString());
        f.put("loraDropout", Double.toHexString(loraDropout));
        f.put("epochs", Integer.toString(epochs));
        f.put("maxSteps", Integer.toString(maxSteps));
        f.put("learningRate", Double.toHexString(learningRate));
        f.put("schedule", schedule.name());
        f.put("warmupRatio", Double.toHexString(warmupRatio));
        f.put("batchSize", Integer.toString(batchSize));
        f.put("microBatchSize", Integer.toString(microBatchSize));
        f.put("maxSeqLength", Integer.toString(maxSeqLength));
        f.put("evalFraction", Double.toHexString(evalFraction));
        f.put("evalEvery", Integer.toString(evalEvery));
        f.put("earlyStoppingPatience", Integer.toString(earlyStoppingPatience));
        f.put("seed", Long.toString(seed));
        f.put("maxGradNorm", Double.toHexString(maxGradNorm));
        f.put("weightDecay", Double.toHexString(weightDecay));
        f.put("beta1", Double.toHexString(beta1));
        f.put("beta2", Double.toHexString(beta2));
        f.put("normalization", normalization.name());
        f.put("maxNonFiniteSteps", Integer.toString(maxNonFiniteSteps));
        return f;
    }

    /** {@link #ENCODING} on the first line, then one {@code name=value} line per component. */
    public String encode() {
        StringBuilder s = new StringBuilder(ENCODING).append('\n');
        fields().forEach((k, v) -> s.append(k).append('=').append(v).append('\n'));
        return s.toString();
    }

    /** {@link #encode()} as UTF-8 bytes. */
    public byte[] encodeBytes() {
        return encode().getBytes(StandardCharsets.UTF_8);
    }

    /** A string as its length and its characters, so no content can be mistaken for a separator. */
    private static String quote(String s) {
        return s == null ? "-" : s.length() + ":" + s; // null: the default selection (float weights of rank >= 2)
    }
}
