package dev.rectify.train;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.core.io.ContentHash;
import dev.rectify.lora.LoraConfig;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * What the training artifacts train and how: LoRA (a {@link LoraConfig}) or full fine-tuning (every float
 * weight of rank ≥ 2, or the float initializers whose names match a regex), the {@link Objective}, the
 * {@link Normalization}, AdamW hyperparameters (torch.optim.AdamW semantics), gradient clipping, and a debug flag
 * exposing per-parameter gradients. Immutable; build with {@link #builder()}.
 */
public final class TrainingPlan {
    /** How parameters are chosen. */
    public enum Mode {
        LORA,
        FULL
    }

    private final Mode mode;
    private final LoraConfig lora;
    private final String fullPattern;
    private final Objective objective;
    private final Normalization normalization;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final double weightDecay;
    private final double maxGradNorm;
    private final boolean exposeGradients;
    private final boolean deterministicClipping;
    private final int lossChunks;
    private final long microBatchTokens;
    private final Checkpointing checkpointing;
    private final ComputePrecision computePrecision;
    private final boolean emulateHalfKernels;

    private TrainingPlan(Builder b) {
        this.mode = b.mode;
        this.lora = b.lora;
        this.fullPattern = b.fullPattern;
        this.objective = b.objective;
        this.normalization = b.normalization;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.epsilon = b.epsilon;
        this.weightDecay = b.weightDecay;
        this.maxGradNorm = b.maxGradNorm;
        this.exposeGradients = b.exposeGradients;
        this.deterministicClipping = b.deterministicClipping;
        this.lossChunks = b.lossChunks;
        this.microBatchTokens = b.microBatchTokens;
        this.checkpointing = b.checkpointing;
        this.computePrecision = b.computePrecision;
        this.emulateHalfKernels = b.emulateHalfKernels;
    }

    /** LoRA with {@link LoraConfig#defaults()}, DFT, step-token normalisation, AdamW(0.9, 0.95, 1e-8, wd 0.01), clip 1.0. */
    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.mode = mode;
        b.lora = lora;
        b.fullPattern = fullPattern;
        b.objective = objective;
        b.normalization = normalization;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.epsilon = epsilon;
        b.weightDecay = weightDecay;
        b.maxGradNorm = maxGradNorm;
        b.exposeGradients = exposeGradients;
        b.deterministicClipping = deterministicClipping;
        b.lossChunks = lossChunks;
        b.microBatchTokens = microBatchTokens;
        b.checkpointing = checkpointing;
        b.computePrecision = computePrecision;
        b.emulateHalfKernels = emulateHalfKernels;
        return b;
    }

    public Mode mode() {
        return mode;
    }

    /** The LoRA settings; null for full fine-tuning. */
    public LoraConfig lora() {
        return lora;
    }

    /** Full fine-tuning's name regex; null means every float weight of rank ≥ 2 (and for LoRA). */
    public String fullFineTuningPattern() {
        return fullPattern;
    }

    public Objective objective() {
        return objective;
    }

    public Normalization normalization() {
        return normalization;
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public double epsilon() {
        return epsilon;
    }

    public double weightDecay() {
        return weightDecay;
    }

    /** Global L2 norm gradients are clipped to before each update; 0 = off. */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /** Whether the training model also outputs {@code grad_debug.<param>} (the micro-batch gradient). */
    public boolean exposeGradients() {
        return exposeGradients;
    }

    /**
     * Whether gradient clipping uses an order-independent norm (repeatable runs; the default, best on CPU) or ORT's
     * fused InplaceClipGradNorm (faster on CUDA, where the sequence ops of the former run on the CPU; last-bit
     * differences between runs).
     */
    public boolean deterministicClipping() {
        return deterministicClipping;
    }

    /**
     * Blocks of tokens the training loss head is computed in ({@link ChunkedLossHead}): 1 = unchunked, k ≥ 2 = k
     * blocks, 0 = automatic from {@link #microBatchTokens()} and the vocabulary (chunked once one [tokens,
     * vocabulary] float32 buffer reaches 128 MiB).
     */
    public int lossChunks() {
        return lossChunks;
    }

    /** Tokens per micro-batch (batch × sequence) the automatic loss chunking plans for; 0 = unknown. */
    public long microBatchTokens() {
        return microBatchTokens;
    }

    /** Whether the backward pass recomputes activations instead of keeping them ({@link #checkpointing()}). */
    public boolean gradientCheckpointing() {
        return checkpointing != Checkpointing.NONE;
    }

    /** What the backward pass recomputes instead of keeping (default {@link Checkpointing#NONE}). */
    public Checkpointing checkpointing() {
        return checkpointing;
    }

    /** The precision of the graphs' matrix products ({@link MixedPrecision}); FLOAT32 by default. */
    public ComputePrecision computePrecision() {
        return computePrecision;
    }

    /**
     * Whether the half-precision products run on float32 kernels with their operands and results rounded to the
     * half type (same numbers as half kernels with float32 accumulation, up to summation order; runs on the CPU),
     * rather than on half kernels (CUDA).
     */
    public boolean emulateHalfKernels() {
        return emulateHalfKernels;
    }

    /**
     * Everything that shapes the artifacts, as stable text. The normalization is included although the graph is
     * the same for both (the trainer reads it back from the artifacts).
     */
    public String canonical() {
        return "plan(mode=" + mode + ",lora=" + (lora == null ? "-" : lora.canonical()) + ",full="
                + (fullPattern == null ? "-" : fullPattern) + ",objective=" + objective + ",norm=" + normalization
                + ",adamw=" + beta1 + "/" + beta2 + "/" + epsilon + "/" + weightDecay + ",clip=" + maxGradNorm
                + ",grads=" + exposeGradients + (deterministicClipping ? "" : ",fusedClip")
                + (lossChunks != 0 || microBatchTokens > 0
                        ? ",lossChunks=" + lossChunks + (lossChunks == 0 ? "@" + microBatchTokens : "")
                        : "")
                + switch (checkpointing) {
                    case NONE -> "";
                    case LAYERS -> ",checkpointing";
                    case SELECTIVE -> ",checkpointing=selective";
                }
                + (computePrecision.isHalf()
                        ? ",precision=" + computePrecision.label() + (emulateHalfKernels ? "~emulated" : "")
                        : "")
                + ")";
    }

    /** sha-256 of {@link #canonical()}, hex. */
    public String hash() {
        return ContentHash.of(canonical());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TrainingPlan p && canonical().equals(p.canonical()) && Objects.equals(lora, p.lora);
    }

    @Override
    public int hashCode() {
        return canonical().hashCode();
    }

    @Override
    public String toString() {
        return canonical();
    }

    /** Builder for {@link TrainingPlan}. */
    public static final class Builder {
        private Mode mode = Mode.LORA;
        private LoraConfig lora = LoraConfig.defaults();
        private String fullPattern;
        private Objective objective = Objective.DFT;
        private Normalization normalization = Normalization.STEP_TOKENS;
        private double beta1 = 0.9;
        private double beta2 = 0.95;
        private double epsilon = 1e-8;
        private double weightDecay = 0.01;
        private double maxGradNorm = 1.0;
        private boolean deterministicClipping = true;
        private boolean exposeGradients;
        private int lossChunks;
        private long microBatchTokens;
        private Checkpointing checkpointing = Checkpointing.NONE;
        private ComputePrecision computePrecision = ComputePrecision.FLOAT32;
        private boolean emulateHalfKernels;

        private Builder() {}

        /**
         * The precision of the matrix products (default FLOAT32). BFLOAT16 and FLOAT16 need half kernels (CUDA)
         * unless {@link #emulateHalfKernels(boolean)}; FLOAT16 adds dynamic loss scaling to the training model.
         */
        public Builder computePrecision(ComputePrecision precision) {
            if (precision == null) {
                throw new InvalidArgumentException("compute precision is required");
            }
            this.computePrecision = precision;
            return this;
        }

        /** See {@link TrainingPlan#emulateHalfKernels()}: verifies half-precision numerics on the CPU. */
        public Builder emulateHalfKernels(boolean emulate) {
            this.emulateHalfKernels = emulate;
            return this;
        }

        /** See {@link TrainingPlan#lossChunks()}: 0 (default) automatic, 1 unchunked, k ≥ 2 blocks. */
        public Builder lossChunks(int chunks) {
            check(chunks >= 0 && chunks <= 1024, "loss chunks must be in [0, 1024] (0 = automatic), got " + chunks);
            this.lossChunks = chunks;
            return this;
        }

        /** Tokens per micro-batch, for the automatic loss chunking; 0 = unknown. */
        public Builder microBatchTokens(long tokens) {
            check(tokens >= 0, "micro-batch tokens must be >= 0, got " + tokens);
            this.microBatchTokens = tokens;
            return this;
        }

        /** Recompute each decoder layer's forward in the backward pass (less activation memory, ~1/3 more compute). */
        public Builder gradientCheckpointing(boolean on) {
            return checkpointing(on ? Checkpointing.LAYERS : Checkpointing.NONE);
        }

        /** What the backward pass recomputes instead of keeping (default {@link Checkpointing#NONE}). */
        public Builder checkpointing(Checkpointing mode) {
            this.checkpointing = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Trains LoRA adapters only (the base stays frozen). */
        public Builder lora(LoraConfig config) {
            if (config == null) {
                throw new InvalidArgumentException("LoRA config is required");
            }
            this.mode = Mode.LORA;
            this.lora = config;
            this.fullPattern = null;
            return this;
        }

        /** Trains every float weight of rank ≥ 2 (embeddings and projections; not norms or biases). */
        public Builder fullFineTuning() {
            this.mode = Mode.FULL;
            this.lora = null;
            this.fullPattern = null;
            return this;
        }

        /** Trains the float initializers whose names match {@code regex} (any rank; {@code find} semantics). */
        public Builder fullFineTuning(String regex) {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException | NullPointerException e) {
                throw new InvalidArgumentException("invalid parameter name pattern '" + regex + "': " + e.getMessage());
            }
            this.mode = Mode.FULL;
            this.lora = null;
            this.fullPattern = regex;
            return this;
        }

        public Builder objective(Objective objective) {
            if (objective == null) {
                throw new InvalidArgumentException("objective is required");
            }
            this.objective = objective;
            return this;
        }

        public Builder normalization(Normalization normalization) {
            if (normalization == null) {
                throw new InvalidArgumentException("normalization is required");
            }
            this.normalization = normalization;
            return this;
        }

        /** AdamW's (beta1, beta2), each in [0, 1). */
        public Builder betas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        public Builder epsilon(double epsilon) {
            this.epsilon = epsilon;
            return this;
        }

        /** Decoupled weight decay (torch.optim.AdamW: applied before the update, scaled by the learning rate). */
        public Builder weightDecay(double weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /** Clip gradients to this global L2 norm before each update; 0 turns clipping off. */
        public Builder maxGradNorm(double maxGradNorm) {
            this.maxGradNorm = maxGradNorm;
            return this;
        }

        /** Adds {@code grad_debug.<param>} outputs (tests, parity checks). */
        public Builder exposeGradients(boolean expose) {
            this.exposeGradients = expose;
            return this;
        }

        /** See {@link TrainingPlan#deterministicClipping()}; true by default. */
        public Builder deterministicClipping(boolean deterministic) {
            this.deterministicClipping = deterministic;
            return this;
        }

        public TrainingPlan build() {
            check(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got " + beta1);
            check(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got " + beta2);
            check(epsilon > 0 && Double.isFinite(epsilon), "epsilon must be finite and > 0, got " + epsilon);
            check(
                    weightDecay >= 0 && Double.isFinite(weightDecay),
                    "weight decay must be finite and >= 0, got " + weightDecay);
            check(
                    maxGradNorm >= 0 && Double.isFinite(maxGradNorm),
                    "max grad norm must be finite and >= 0 (0 = off), got " + maxGradNorm);
            return new TrainingPlan(this);
        }

        private static void check(boolean ok, String message) {
            if (!ok) {
                throw new InvalidArgumentException(message);
            }
        }
    }
}
