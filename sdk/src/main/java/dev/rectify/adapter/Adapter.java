package dev.rectify.adapter;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainedWeights;
import dev.rectify.train.TrainingResult;
import java.util.Collections;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The result of fine-tuning: LoRA factors (or fully fine-tuned weights) for one base model, how they were made,
 * and the run's metrics. {@link #id()} is a content hash of base model, data and options, so the same request
 * always names the same adapter. Apply it with {@link AdaptedModel#of(BaseModel, Adapter)}; save and load it with
 * {@link dev.rectify.adapter.AdapterFiles}.
 * <pre>{@code Adapter a = Rectify.fineTune(examples, Objective.DFT);}</pre>
 */
public final class Adapter {
    /** Whether the adapter holds LoRA factors or replacement weights. */
    public enum Kind {
        LORA,
        FULL
    }

    private final String id;
    private final String baseModelHash;
    private final Kind kind;
    private final Objective objective;
    private final int rank;
    private final double alpha;
    private final Set<String> targetModules;
    private final String recipe;
    private final TrainedWeights weights;
    private final TrainingResult result;
    private final FineTuneOptions options;
    private final String baseModelNameOrPath;
    private final boolean fanInFanOut;
    private final double loraDropout;

    private Adapter(Builder b) {
        this.id = Objects.requireNonNull(b.id, "id");
        this.baseModelHash = Objects.requireNonNull(b.baseModelHash, "baseModelHash");
        this.kind = Objects.requireNonNull(b.kind, "kind");
        this.objective = b.objective;
        this.rank = b.rank;
        this.alpha = b.alpha;
        this.targetModules =
                b.targetModules == null ? Set.of() : Collections.unmodifiableSortedSet(new TreeSet<>(b.targetModules));
        this.recipe = b.recipe == null ? "" : b.recipe;
        this.weights = Objects.requireNonNull(b.weights, "weights");
        this.result = b.result;
        this.options = b.options;
        this.baseModelNameOrPath = b.baseModelNameOrPath;
        this.fanInFanOut = b.fanInFanOut;
        this.loraDropout = b.loraDropout;
        if (kind == Kind.LORA && (rank < 1 || !(alpha > 0) || targetModules.isEmpty())) {
            throw new InvalidArgumentException("a LoRA adapter needs rank >= 1, alpha > 0 and target modules");
        }
    }

    /** A builder, for adapters read from files or made elsewhere. */
    public static Builder builder() {
        return new Builder();
    }

    /** Content hash of base model, training data and options (hex). */
    public String id() {
        return id;
    }

    /** Hash of the base model this adapter belongs to. */
    public String baseModelHash() {
        return baseModelHash;
    }

    public Kind kind() {
        return kind;
    }

    /** The objective it was trained with, when known. */
    public Optional<Objective> objective() {
        return Optional.ofNullable(objective);
    }

    /** LoRA rank (0 for full fine-tuning). */
    public int rank() {
        return rank;
    }

    /** LoRA alpha (the update is scaled by alpha / rank). */
    public double alpha() {
        return alpha;
    }

    /** LoRA target modules (q_proj, ...). */
    public Set<String> targetModules() {
        return targetModules;
    }

    /** How it was made: the canonical fine-tuning options, or a description for adapters made elsewhere. */
    public String recipe() {
        return recipe;
    }

    /** The trained tensors (PEFT names for LoRA: {@code base_model.model.<module>.lora_A.weight}). */
    public TrainedWeights weights() {
        return weights;
    }

    /** Metrics of the run that made this adapter, when it was trained in this process. */
    public Optional<TrainingResult> result() {
        return Optional.ofNullable(result);
    }

    /** The options it was trained with, when it was trained in this process. */
    public Optional<FineTuneOptions> options() {
        return Optional.ofNullable(options);
    }

    /** The LoRA configuration; only for {@link Kind#LORA}. */
    public LoraConfig loraConfig() {
        if (kind != Kind.LORA) {
            throw new IllegalStateException("a full fine-tuning adapter has no LoRA configuration");
        }
        return LoraConfig.builder()
                .rank(rank)
                .alpha(alpha)
                .targetModules(targetModules)
                .build();
    }

    /**
     * The base's Hugging Face id or folder, as PEFT's {@code base_model_name_or_path} (empty when unknown; the base's
     * hash is {@link #baseModelHash()}).
     */
    public Optional<String> baseModelNameOrPath() {
        return Optional.ofNullable(baseModelNameOrPath);
    }

    /**
     * PEFT's {@code fan_in_fan_out}: whether the adapted projections are Conv1D layers storing their weight as
     * [in, out] (GPT-2). A and B keep PEFT's shapes ([r, in], [out, r]) either way.
     */
    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    /** PEFT's {@code lora_dropout} the adapter was trained with. */
    public double loraDropout() {
        return loraDropout;
    }

    /** This adapter as returned to a request with {@code o} (same weights and id). */
    public Adapter withOptions(FineTuneOptions o) {
        return builder()
                .id(id)
                .baseModelHash(baseModelHash)
                .kind(kind)
                .objective(objective)
                .lora(rank, alpha, targetModules)
                .recipe(recipe)
                .weights(weights)
                .result(result)
                .options(o)
                .peft(baseModelNameOrPath, fanInFanOut, loraDropout)
                .build();
    }

    /** Size of the trained tensors in bytes (fp32). */
    public long byteSize() {
        return weights.parameterCount() * 4;
    }

    @Override
    public String toString() {
        return "Adapter[" + id.substring(0, Math.min(12, id.length())) + ", " + kind
                + (objective == null ? "" : ", " + objective) + ", " + weights.parameterCount() + " parameters]";
    }

    /** Builder for adapters whose weights come from files or another trainer. */
    public static final class Builder {
        private String id;
        private String baseModelHash;
        private Kind kind = Kind.LORA;
        private Objective objective;
        private int rank;
        private double alpha;
        private Set<String> targetModules;
        private String recipe;
        private TrainedWeights weights;
        private TrainingResult result;
        private FineTuneOptions options;
        private String baseModelNameOrPath;
        private boolean fanInFanOut;
        private double loraDropout;

        private Builder() {}

        public Builder id(String id) {
            this.id = id;
            return this;
        }

        public Builder baseModelHash(String h) {
            this.baseModelHash = h;
            return this;
        }

        public Builder kind(Kind k) {
            this.kind = k;
            return this;
        }

        public Builder objective(Objective o) {
            this.objective = o;
            return this;
        }

        public Builder lora(int rank, double alpha, Set<String> targets) {
            this.rank = rank;
            this.alpha = alpha;
            this.targetModules = targets;
            return this;
        }

        public Builder recipe(String r) {
            this.recipe = r;
            return this;
        }

        public Builder weights(TrainedWeights w) {
            this.weights = w;
            return this;
        }

        public Builder result(TrainingResult r) {
            this.result = r;
            return this;
        }

        public Builder options(FineTuneOptions o) {
            this.options = o;
            return this;
        }

        /** What PEFT's config says beyond the LoRA shape: the base's id or folder (or null), fan_in_fan_out, lora_dropout. */
        public Builder peft(String baseModelNameOrPath, boolean fanInFanOut, double loraDropout) {
            this.baseModelNameOrPath = baseModelNameOrPath;
            this.fanInFanOut = fanInFanOut;
            this.loraDropout = loraDropout;
            return this;
        }

        public Adapter build() {
            return new Adapter(this);
        }
    }
}
