package dev.rectify.train;

import dev.rectify.core.CancellationToken;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Everything a fine-tuning run takes, immutable; build with {@link #builder()}: the {@link Hyperparameters} (whose
 * {@link Hyperparameters#DEFAULTS} are the defaults here too), explicit held-out examples, and how the run is driven
 * (checkpoint folder and cadence, resume, progress listener, cancellation).
 * <p>Over 400 lines because every fine-tuning option is a field, an accessor, a documented builder method and a check,
 * kept in the one place that defines them all.
 */
public final class FineTuneOptions {
    private final Objective objective;
    private final boolean fullFineTuning;
    private final String fullPattern;
    private final int loraRank;
    private final double loraAlpha;
    private final Set<String> loraTargets;
    private final double loraDropout;
    private final int epochs;
    private final int maxSteps;
    private final double learningRate;
    private final LrSchedule schedule;
    private final double warmupRatio;
    private final int batchSize;
    private final int microBatchSize;
    private final int maxSeqLength;
    private final double evalFraction;
    private final List<Example> evalExamples;
    private final int evalEvery;
    private final int earlyStoppingPatience;
    private final long seed;
    private final double maxGradNorm;
    private final double weightDecay;
    private final double beta1;
    private final double beta2;
    private final Normalization normalization;
    private final int maxNonFiniteSteps;
    private final Path runDir;
    private final int checkpointEvery;
    private final boolean resume;
    private final int keepCheckpoints;
    private final ProgressListener onProgress;
    private final CancellationToken cancellation;
    private final int lossChunks;
    private final Checkpointing checkpointing;
    private final ComputePrecision computePrecision;
    private final double initialLossScale;
    private final int lossScaleGrowthInterval;

    private FineTuneOptions(Builder b) {
        this.objective = b.objective;
        this.fullFineTuning = b.fullFineTuning;
        this.fullPattern = b.fullPattern;
        this.loraRank = b.loraRank;
        this.loraAlpha = b.loraAlpha;
        // sorted: iteration order must not depend on the JVM (it feeds content hashes)
        this.loraTargets = Collections.unmodifiableSortedSet(new TreeSet<>(b.loraTargets));
        this.loraDropout = b.loraDropout;
        this.epochs = b.epochs;
        this.maxSteps = b.maxSteps;
        this.learningRate = b.learningRate > 0 ? b.learningRate : Hyperparameters.defaultLearningRate(b.fullFineTuning);
        this.schedule = b.schedule;
        this.warmupRatio = b.warmupRatio;
        this.batchSize = b.batchSize;
        this.microBatchSize = Math.min(b.microBatchSize, b.batchSize);
        this.maxSeqLength = b.maxSeqLength;
        this.evalFraction = b.evalFraction;
        this.evalExamples = b.evalExamples == null ? null : List.copyOf(b.evalExamples);
        this.evalEvery = b.evalEvery;
        this.earlyStoppingPatience = b.earlyStoppingPatience;
        this.seed = b.seed;
        this.maxGradNorm = b.maxGradNorm;
        this.weightDecay = b.weightDecay;
        this.beta1 = b.beta1;
        this.beta2 = b.beta2;
        this.normalization = b.normalization;
        this.maxNonFiniteSteps = b.maxNonFiniteSteps;
        this.runDir = b.runDir;
        this.checkpointEvery = b.checkpointEvery;
        this.resume = b.resume;
        this.keepCheckpoints = b.keepCheckpoints;
        this.onProgress = b.onProgress;
        this.cancellation = b.cancellation;
        this.lossChunks = b.lossChunks;
        this.checkpointing = b.checkpointing;
        this.computePrecision = b.computePrecision;
        this.initialLossScale = b.initialLossScale;
        this.lossScaleGrowthInterval = b.lossScaleGrowthInterval;
    }

    /** Defaults with {@code objective}. */
    public static FineTuneOptions of(Objective objective) {
        return builder().objective(objective).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.objective = objective;
        b.fullFineTuning = fullFineTuning;
        b.fullPattern = fullPattern;
        b.loraRank = loraRank;
        b.loraAlpha = loraAlpha;
        b.loraTargets = new LinkedHashSet<>(loraTargets);
        b.loraDropout = loraDropout;
        b.epochs = epochs;
        b.maxSteps = maxSteps;
        b.learningRate = learningRate;
        b.schedule = schedule;
        b.warmupRatio = warmupRatio;
        b.batchSize = batchSize;
        b.microBatchSize = microBatchSize;
        b.maxSeqLength = maxSeqLength;
        b.evalFraction = evalFraction;
        b.evalExamples = evalExamples;
        b.evalEvery = evalEvery;
        b.earlyStoppingPatience = earlyStoppingPatience;
        b.seed = seed;
        b.maxGradNorm = maxGradNorm;
        b.weightDecay = weightDecay;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.normalization = normalization;
        b.maxNonFiniteSteps = maxNonFiniteSteps;
        b.runDir = runDir;
        b.checkpointEvery = checkpointEvery;
        b.resume = resume;
        b.keepCheckpoints = keepCheckpoints;
        b.onProgress = onProgress;
        b.cancellation = cancellation;
        b.lossChunks = lossChunks;
        b.checkpointing = checkpointing;
        b.computePrecision = computePrecision;
        b.initialLossScale = initialLossScale;
        b.lossScaleGrowthInterval = lossScaleGrowthInterval;
        return b;
    }

    /**
     * Blocks of tokens the training loss head runs in (memory, not results: the loss and gradients are the
     * unchunked head's up to float summation order). 0 (default) = automatic: chunked once one [micro-batch tokens,
     * vocabulary] float32 buffer reaches 128 MiB (e.g. 512 tokens of a 151,936-token vocabulary: 311 MiB, 5 blocks),
     * in blocks of at most 64 MiB; below that the whole head holds under 1 GiB and one large product is faster.
     * 1 = never chunked; k ≥ 2 = k blocks.
     */
    public int lossChunks() {
        return lossChunks;
    }

    /** Whether the backward pass recomputes activations (gradient checkpointing, {@link #checkpointing()}). */
    public boolean gradientCheckpointing() {
        return checkpointing != Checkpointing.NONE;
    }

    /** What the backward pass recomputes instead of keeping; {@link Checkpointing#NONE} by default. */
    public Checkpointing checkpointing() {
        return checkpointing;
    }

    /**
     * The precision of the matrix products (mixed precision, CUDA only): FLOAT32 (default), BFLOAT16, or FLOAT16 with
     * dynamic loss scaling. Parameters, gradients, optimizer state, norms and the loss head stay float32. Like the
     * device, TF32 and the memory options, it says how the same fine-tune is computed, so it is not among the
     * {@link #hyperparameters()} (nor in the adapter id); the training plan, hence the artifacts and the run
     * checkpoints, do carry it.
     */
    public ComputePrecision computePrecision() {
        return computePrecision;
    }

    /** float16 training's first loss scale (default 65536 = 2^16, as torch's GradScaler). */
    public double initialLossScale() {
        return initialLossScale;
    }

    /** float16 training doubles the loss scale after this many steps without overflow (default 2000). */
    public int lossScaleGrowthInterval() {
        return lossScaleGrowthInterval;
    }

    /** The settings that determine the trained weights, as one value. */
    public Hyperparameters hyperparameters() {
        return new Hyperparameters(
                objective,
                fullFineTuning,
                fullPattern,
                loraRank,
                loraAlpha,
                List.copyOf(loraTargets),
                loraDropout,
                epochs,
                maxSteps,
                learningRate,
                schedule,
                warmupRatio,
                batchSize,
                microBatchSize,
                maxSeqLength,
                evalFraction,
                evalEvery,
                earlyStoppingPatience,
                seed,
                maxGradNorm,
                weightDecay,
                beta1,
                beta2,
                normalization,
                maxNonFiniteSteps);
    }

    /**
     * What determines the trained weights, as a stable string ({@link Hyperparameters#encode()}): two runs with equal
     * canonical options, base model and data give the same adapter.
     */
    public String canonical() {
        return hyperparameters().encode();
    }

    public Objective objective() {
        return objective;
    }

    public boolean fullFineTuning() {
        return fullFineTuning;
    }
    /** Full fine-tuning's weight-name regex; null = every float weight of rank >= 2 on the path to the logits. */
    public String fullFineTuningPattern() {
        return fullPattern;
    }

    public int loraRank() {
        return loraRank;
    }

    public double loraAlpha() {
        return loraAlpha;
    }

    public Set<String> loraTargets() {
        return loraTargets;
    }
    /** Dropout probability on each LoRA branch's input while training (0: none). */
    public double loraDropout() {
        return loraDropout;
    }

    public int epochs() {
        return epochs;
    }
    /** Optimizer steps to run, or -1 to run {@link #epochs()} epochs. */
    public int maxSteps() {
        return maxSteps;
    }

    public double learningRate() {
        return learningRate;
    }

    public LrSchedule schedule() {
        return schedule;
    }

    public double warmupRatio() {
        return warmupRatio;
    }

    public int batchSize() {
        return batchSize;
    }

    public int microBatchSize() {
        return microBatchSize;
    }

    public int maxSeqLength() {
        return maxSeqLength;
    }

    public double evalFraction() {
        return evalFraction;
    }
    /** Explicit held-out examples, or null to split {@link #evalFraction()} off the training examples. */
    public List<Example> evalExamples() {
        return evalExamples;
    }
    /** Evaluate every this many steps (0: at the end of each epoch). */
    public int evalEvery() {
        return evalEvery;
    }

    public int earlyStoppingPatience() {
        return earlyStoppingPatience;
    }

    public long seed() {
        return seed;
    }

    public double maxGradNorm() {
        return maxGradNorm;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public Normalization normalization() {
        return normalization;
    }

    public int maxNonFiniteSteps() {
        return maxNonFiniteSteps;
    }
    /** Where checkpoints go, or null for a folder under Rectify's home named after the run. */
    public Path runDir() {
        return runDir;
    }
    /** Save a checkpoint every this many steps (0: only at the end). */
    public int checkpointEvery() {
        return checkpointEvery;
    }

    public boolean resume() {
        return resume;
    }
    /** How many of the newest checkpoints the run folder keeps (default 3; resume uses the newest). */
    public int keepCheckpoints() {
        return keepCheckpoints;
    }

    public ProgressListener onProgress() {
        return onProgress;
    }

    public CancellationToken cancellation() {
        return cancellation;
    }

    @Override
    public String toString() {
        return "FineTuneOptions" + hyperparameters();
    }

    /** Builder for {@link FineTuneOptions}; every setter validates its value. */
    public static final class Builder {
        private Objective objective = Hyperparameters.DEFAULTS.objective();
        private boolean fullFineTuning = Hyperparameters.DEFAULTS.fullFineTuning();
        private String fullPattern = Hyperparameters.DEFAULTS.fullPattern();
        private int loraRank = Hyperparameters.DEFAULTS.loraRank();
        private double loraAlpha = Hyperparameters.DEFAULTS.loraAlpha();
        private Set<String> loraTargets = new LinkedHashSet<>(Hyperparameters.DEFAULTS.loraTargets());
        private double loraDropout = Hyperparameters.DEFAULTS.loraDropout();
        private int epochs = Hyperparameters.DEFAULTS.epochs();
        private int maxSteps = Hyperparameters.DEFAULTS.maxSteps();
        private double learningRate = -1; // the default depends on the method: Hyperparameters.defaultLearningRate
        private LrSchedule schedule = Hyperparameters.DEFAULTS.schedule();
        private double warmupRatio = Hyperparameters.DEFAULTS.warmupRatio();
        private int batchSize = Hyperparameters.DEFAULTS.batchSize();
        private int microBatchSize = Hyperparameters.DEFAULTS.microBatchSize();
        private int maxSeqLength = Hyperparameters.DEFAULTS.maxSeqLength();
        private double evalFraction = Hyperparameters.DEFAULTS.evalFraction();
        private List<Example> evalExamples;
        private int evalEvery = Hyperparameters.DEFAULTS.evalEvery();
        private int earlyStoppingPatience = Hyperparameters.DEFAULTS.earlyStoppingPatience();
        private long seed = Hyperparameters.DEFAULTS.seed();
        private double maxGradNorm = Hyperparameters.DEFAULTS.maxGradNorm();
        private double weightDecay = Hyperparameters.DEFAULTS.weightDecay();
        private double beta1 = Hyperparameters.DEFAULTS.beta1();
        private double beta2 = Hyperparameters.DEFAULTS.beta2();
        private Normalization normalization = Hyperparameters.DEFAULTS.normalization();
        private int maxNonFiniteSteps = Hyperparameters.DEFAULTS.maxNonFiniteSteps();
        private Path runDir;
        private int checkpointEvery;
        private boolean resume;
        private int keepCheckpoints = 3;
        private ProgressListener onProgress = p -> {};
        private CancellationToken cancellation = new CancellationToken();
        private int lossChunks;
        private Checkpointing checkpointing = Checkpointing.NONE;
        private ComputePrecision computePrecision = ComputePrecision.FLOAT32;
        private double initialLossScale = 65536;
        private int lossScaleGrowthInterval = 2000;

        private Builder() {}

        /** Every weight-determining setting at once, each checked as by its own setter. */
        public Builder hyperparameters(Hyperparameters h) {
            objective(h.objective());
            if (h.fullFineTuning() && h.fullPattern() == null) {
                fullFineTuning();
            } else if (h.fullFineTuning()) {
                fullFineTuning(h.fullPattern());
            } else {
                lora(h.loraRank(), h.loraAlpha());
                loraTargets(h.loraTargets().toArray(new String[0]));
                loraDropout(h.loraDropout());
            }
            if (h.maxSteps() > 0) {
                epochs(h.epochs()).maxSteps(h.maxSteps());
            } else {
                epochs(h.epochs());
            }
            return learningRate(h.learningRate())
                    .schedule(h.schedule())
                    .warmupRatio(h.warmupRatio())
                    .batchSize(h.batchSize())
                    .microBatchSize(h.microBatchSize())
                    .maxSeqLength(h.maxSeqLength())
                    .evalFraction(h.evalFraction())
                    .evalEvery(h.evalEvery())
                    .earlyStoppingPatience(h.earlyStoppingPatience())
                    .seed(h.seed())
                    .maxGradNorm(h.maxGradNorm())
                    .weightDecay(h.weightDecay())
                    .betas(h.beta1(), h.beta2())
                    .normalization(h.normalization())
                    .maxNonFiniteSteps(h.maxNonFiniteSteps());
        }

        public Builder objective(Objective o) {
            this.objective = Objects.requireNonNull(o, "objective");
            return this;
        }

        /** LoRA with rank {@code r} and scaling numerator {@code alpha} (the default method). */
        public Builder lora(int r, double alpha) {
            require(r >= 1 && r <= 4096, "LoRA rank must be in [1, 4096], got " + r);
            require(alpha > 0 && Double.isFinite(alpha), "LoRA alpha must be > 0, got " + alpha);
            this.fullFineTuning = false;
            this.loraRank = r;
            this.loraAlpha = alpha;
            return this;
        }

        /**
         * LoRA target modules by name (q_proj, ...; c_attn, c_proj, c_fc for GPT-2 exports). The default,
         * {@value dev.rectify.lora.LoraTargets#ALL_LINEAR}, is every linear projection inside the decoder layers, never the head (or
         * the model type's usual list when config.json names a known model_type).
         */
        public Builder loraTargets(String... modules) {
            require(modules.length > 0, "at least one LoRA target module is needed");
            this.loraTargets = new LinkedHashSet<>(List.of(modules));
            return this;
        }

        /**
         * Dropout with probability {@code p} on each LoRA branch's input while training, as PEFT's
         * {@code lora_dropout} ({@code B(A(dropout(x)))·scale}); evaluation and serving never drop. 0: none. Masks
         * come from seeded ONNX Dropout nodes: a run repeats exactly, but a resumed one draws its masks afresh from the
         * seed, so with dropout a resumed run is not bit-identical to an uninterrupted one.
         */
        public Builder loraDropout(double p) {
            require(p >= 0 && p < 1, "LoRA dropout must be in [0, 1), got " + p);
            this.loraDropout = p;
            return this;
        }

        /** Trains every float weight of rank >= 2 instead of LoRA. */
        public Builder fullFineTuning() {
            this.fullFineTuning = true;
            this.fullPattern = null; // not ".*": that also matches norms, biases and buffers such as rotary tables
            return this;
        }

        /** Trains the weights whose names match {@code regex} instead of LoRA. */
        public Builder fullFineTuning(String regex) {
            try {
                Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw new InvalidArgumentException("bad weight-name pattern '" + regex + "': " + e.getDescription());
            }
            this.fullFineTuning = true;
            this.fullPattern = regex;
            return this;
        }

        public Builder epochs(int n) {
            require(n >= 1 && n <= 10_000, "epochs must be in [1, 10000], got " + n);
            this.epochs = n;
            this.maxSteps = -1;
            return this;
        }

        /** Stop after {@code n} optimizer steps (instead of a number of epochs). */
        public Builder maxSteps(int n) {
            require(n >= 1, "maxSteps must be >= 1, got " + n);
            this.maxSteps = n;
            return this;
        }

        public Builder learningRate(double lr) {
            require(lr > 0 && lr < 1, "learning rate must be in (0, 1), got " + lr);
            this.learningRate = lr;
            return this;
        }

        public Builder schedule(LrSchedule s) {
            this.schedule = Objects.requireNonNull(s, "schedule");
            return this;
        }

        public Builder warmupRatio(double r) {
            require(r >= 0 && r < 1, "warmup ratio must be in [0, 1), got " + r);
            this.warmupRatio = r;
            return this;
        }

        /** Examples per optimizer step (gradients are accumulated over micro-batches). */
        public Builder batchSize(int n) {
            require(n >= 1 && n <= 1 << 16, "batch size must be in [1, 65536], got " + n);
            this.batchSize = n;
            return this;
        }

        /** Examples per forward/backward pass. */
        public Builder microBatchSize(int n) {
            require(n >= 1 && n <= 1 << 16, "micro-batch size must be in [1, 65536], got " + n);
            this.microBatchSize = n;
            return this;
        }

        /** Longest sequence trained on (longer examples are right-truncated). */
        public Builder maxSeqLength(int n) {
            require(n >= 2, "maxSeqLength must be >= 2, got " + n);
            this.maxSeqLength = n;
            return this;
        }

        /** Fraction of the examples held out for evaluation (0: none). */
        public Builder evalFraction(double f) {
            require(f >= 0 && f < 1, "eval fraction must be in [0, 1), got " + f);
            this.evalFraction = f;
            return this;
        }

        /** Explicit held-out examples (then none are split off the training examples). */
        public Builder evalExamples(List<Example> examples) {
            this.evalExamples = examples;
            return this;
        }

        public Builder evalEvery(int steps) {
            require(steps >= 0, "evalEvery must be >= 0, got " + steps);
            this.evalEvery = steps;
            return this;
        }

        /** Stop after this many evaluations without a better held-out NLL (0: never). */
        public Builder earlyStoppingPatience(int n) {
            require(n >= 0, "patience must be >= 0, got " + n);
            this.earlyStoppingPatience = n;
            return this;
        }

        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Clip the global gradient norm to this value (0: no clipping). */
        public Builder maxGradNorm(double n) {
            require(n >= 0 && Double.isFinite(n), "maxGradNorm must be >= 0, got " + n);
            this.maxGradNorm = n;
            return this;
        }

        public Builder weightDecay(double wd) {
            require(wd >= 0 && wd < 1, "weight decay must be in [0, 1), got " + wd);
            this.weightDecay = wd;
            return this;
        }

        public Builder betas(double b1, double b2) {
            require(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1, "betas must be in [0, 1), got " + b1 + ", " + b2);
            this.beta1 = b1;
            this.beta2 = b2;
            return this;
        }

        public Builder normalization(Normalization n) {
            this.normalization = Objects.requireNonNull(n, "normalization");
            return this;
        }

        /** Fail the run after this many steps skipped for a non-finite loss. */
        public Builder maxNonFiniteSteps(int n) {
            require(n >= 0, "maxNonFiniteSteps must be >= 0, got " + n);
            this.maxNonFiniteSteps = n;
            return this;
        }

        public Builder runDir(Path dir) {
            this.runDir = dir;
            return this;
        }

        public Builder checkpointEvery(int steps) {
            require(steps >= 0, "checkpointEvery must be >= 0, got " + steps);
            this.checkpointEvery = steps;
            return this;
        }

        /** Keep the newest {@code n} checkpoints in the run folder (default 3), deleting older ones as new ones land. */
        public Builder keepCheckpoints(int n) {
            require(n >= 1, "keepCheckpoints must be >= 1, got " + n);
            this.keepCheckpoints = n;
            return this;
        }

        /** Continue from the last checkpoint in {@link #runDir} when there is one. */
        public Builder resume(boolean r) {
            this.resume = r;
            return this;
        }

        public Builder onProgress(ProgressListener l) {
            this.onProgress = Objects.requireNonNull(l, "listener");
            return this;
        }

        public Builder cancellation(CancellationToken t) {
            this.cancellation = Objects.requireNonNull(t, "cancellation");
            return this;
        }

        /** See {@link FineTuneOptions#lossChunks()}: 0 automatic (default), 1 off, k ≥ 2 blocks. */
        public Builder lossChunks(int chunks) {
            require(chunks >= 0 && chunks <= 1024, "lossChunks must be in [0, 1024] (0 = automatic), got " + chunks);
            this.lossChunks = chunks;
            return this;
        }

        /**
         * Recompute each decoder layer's forward from its input during the backward pass instead of keeping its
         * activations: less memory, about one more forward of compute per step.
         */
        public Builder gradientCheckpointing(boolean on) {
            return checkpointing(on ? Checkpointing.LAYERS : Checkpointing.NONE);
        }

        /**
         * What the backward pass recomputes instead of keeping: {@link Checkpointing#LAYERS} (least memory),
         * {@link Checkpointing#SELECTIVE} (keeps the weight products: most of the saving for little compute).
         */
        public Builder checkpointing(Checkpointing mode) {
            if (mode == null) {
                throw new InvalidArgumentException("checkpointing needs a mode (NONE, LAYERS or SELECTIVE)");
            }
            this.checkpointing = mode;
            return this;
        }

        /**
         * See {@link FineTuneOptions#computePrecision()}. BFLOAT16 and FLOAT16 need a CUDA device: ONNX Runtime's CPU
         * provider has no half-precision MatMul kernels, so the CPU trains in float32.
         */
        public Builder computePrecision(ComputePrecision p) {
            this.computePrecision = Objects.requireNonNull(p, "compute precision");
            return this;
        }

        /** See {@link FineTuneOptions#initialLossScale()}: finite and > 0. */
        public Builder initialLossScale(double scale) {
            require(scale > 0 && Double.isFinite(scale), "initialLossScale must be finite and > 0, got " + scale);
            this.initialLossScale = scale;
            return this;
        }

        /** See {@link FineTuneOptions#lossScaleGrowthInterval()}: >= 1. */
        public Builder lossScaleGrowthInterval(int steps) {
            require(steps >= 1, "lossScaleGrowthInterval must be >= 1, got " + steps);
            this.lossScaleGrowthInterval = steps;
            return this;
        }

        public FineTuneOptions build() {
            return new FineTuneOptions(this);
        }

        private static void require(boolean ok, String message) {
            if (!ok) {
                throw new InvalidArgumentException(message);
            }
        }
    }
}
