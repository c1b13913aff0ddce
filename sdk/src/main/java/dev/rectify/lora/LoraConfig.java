package dev.rectify.lora;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.io.ContentHash;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Immutable LoRA settings: rank r, alpha (scale = alpha / r), the target module names (the last component of a
 * module path such as {@code q_proj}), the seed of A's initialisation, and optional initial values by PEFT tensor
 * name (for tests and parity runs). Build with {@link #builder()}.
 */
public final class LoraConfig {
    /** Llama-family projections (Llama, Mistral, Qwen2, ...). */
    public static final Set<String> LLAMA_TARGETS = Collections.unmodifiableSet(
            new LinkedHashSet<>(List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")));
    /** GPT-2 projections. */
    public static final Set<String> GPT2_TARGETS =
            Collections.unmodifiableSet(new LinkedHashSet<>(List.of("c_attn", "c_proj", "c_fc")));

    private final int rank;
    private final double alpha;
    private final Set<String> targetModules;
    private final long seed;
    private final double dropout;
    private final Map<String, float[]> initialValues;

    private LoraConfig(Builder b) {
        this.rank = b.rank;
        this.alpha = b.alpha;
        this.targetModules = Collections.unmodifiableSet(new LinkedHashSet<>(b.targetModules));
        this.seed = b.seed;
        this.dropout = b.dropout;
        TreeMap<String, float[]> iv = new TreeMap<>();
        b.initialValues.forEach((k, v) -> iv.put(k, v.clone()));
        this.initialValues = Collections.unmodifiableMap(iv);
    }

    /** A builder with rank 8, alpha 16, the Llama targets and seed 0. */
    public static Builder builder() {
        return new Builder();
    }

    /** rank 8, alpha 16, Llama targets, seed 0. */
    public static LoraConfig defaults() {
        return builder().build();
    }

    public Builder toBuilder() {
        Builder b = new Builder()
                .rank(rank)
                .alpha(alpha)
                .targetModules(targetModules)
                .seed(seed)
                .dropout(dropout);
        initialValues.forEach(b::initialValue);
        return b;
    }

    public int rank() {
        return rank;
    }

    public double alpha() {
        return alpha;
    }

    /** alpha / r, the factor the LoRA branch is multiplied by. */
    public double scaling() {
        return alpha / rank;
    }

    /** Target module names (last path component), in insertion order. */
    public Set<String> targetModules() {
        return targetModules;
    }

    public long seed() {
        return seed;
    }

    /**
     * PEFT's {@code lora_dropout}: the probability with which each LoRA branch's input is dropped while training
     * ({@code B(A(dropout(x)))·scale}); 0 for none. Training graphs only (see {@link LoraInjector#addDropout}).
     */
    public double dropout() {
        return dropout;
    }

    /** Initial values by PEFT tensor name (copies are returned by {@link #initialValue}). */
    public Set<String> initialValueNames() {
        return initialValues.keySet();
    }

    /** A copy of the supplied initial value for {@code tensorName}, or null. */
    public float[] initialValue(String tensorName) {
        float[] v = initialValues.get(tensorName);
        return v == null ? null : v.clone();
    }

    /** A canonical text form (for hashing: includes a digest of any initial values). */
    public String canonical() {
        StringBuilder s = new StringBuilder("lora(r=")
                .append(rank)
                .append(",alpha=")
                .append(alpha)
                .append(",targets=")
                .append(String.join("|", new TreeSet<>(targetModules)))
                .append(",seed=")
                .append(seed);
        if (dropout > 0) {
            s.append(",dropout=").append(Double.toHexString(dropout));
        }
        initialValues.forEach((k, v) -> s.append(",init:").append(k).append('=').append(digest(v)));
        return s.append(')').toString();
    }

    private static String digest(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return ContentHash.of(b.array());
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof LoraConfig c)) {
            return false;
        }
        if (rank != c.rank
                || Double.compare(alpha, c.alpha) != 0
                || seed != c.seed
                || Double.compare(dropout, c.dropout) != 0
                || !List.copyOf(targetModules).equals(List.copyOf(c.targetModules))
                || !initialValues.keySet().equals(c.initialValues.keySet())) {
            return false;
        }
        for (var e : initialValues.entrySet()) {
            if (!Arrays.equals(e.getValue(), c.initialValues.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Objects.hash(rank, alpha, List.copyOf(targetModules), seed, initialValues.keySet());
    }

    @Override
    public String toString() {
        return "LoraConfig(r=" + rank + ", alpha=" + alpha + ", targets=" + targetModules + ", seed=" + seed
                + (dropout > 0 ? ", dropout=" + dropout : "")
                + (initialValues.isEmpty() ? "" : ", " + initialValues.size() + " initial values") + ")";
    }

    /** Builder for {@link LoraConfig}; validation happens in {@link #build()}. */
    public static final class Builder {
        private int rank = 8;
        private double alpha = 16;
        private Set<String> targetModules = new LinkedHashSet<>(LLAMA_TARGETS);
        private long seed;
        private double dropout;
        private final Map<String, float[]> initialValues = new TreeMap<>();

        private Builder() {}

        /** The rank r (1..4096). */
        public Builder rank(int rank) {
            this.rank = rank;
            return this;
        }

        /** alpha; the branch is scaled by alpha / r (must be finite and > 0). */
        public Builder alpha(double alpha) {
            this.alpha = alpha;
            return this;
        }

        /** Target module names, the last component of a module path, e.g. {@code q_proj}. */
        public Builder targetModules(Iterable<String> names) {
            this.targetModules = new LinkedHashSet<>();
            for (String n : names) {
                this.targetModules.add(n);
            }
            return this;
        }

        public Builder targetModules(String... names) {
            return targetModules(Arrays.asList(names));
        }

        /** Seed of A's uniform initialisation. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** LoRA dropout probability in [0, 1) (training only). */
        public Builder dropout(double p) {
            this.dropout = p;
            return this;
        }

        /**
         * An initial value for one LoRA tensor by its PEFT name ({@code base_model.model.<module>.lora_A.weight},
         * row-major [r, in] for A, [out, r] for B). Overrides the default initialisation.
         */
        public Builder initialValue(String tensorName, float[] values) {
            if (tensorName == null || values == null) {
                throw new InvalidArgumentException("initial value name and values are required");
            }
            initialValues.put(tensorName, values.clone());
            return this;
        }

        public LoraConfig build() {
            if (rank < 1 || rank > 4096) {
                throw new InvalidArgumentException("LoRA rank must be in [1, 4096], got " + rank);
            }
            if (!(alpha > 0) || Double.isInfinite(alpha)) {
                throw new InvalidArgumentException("LoRA alpha must be finite and > 0, got " + alpha);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new InvalidArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
            }
            if (targetModules.isEmpty()) {
                throw new InvalidArgumentException(
                        "LoRA needs at least one target module (e.g. " + LLAMA_TARGETS + ")");
            }
            for (String t : targetModules) {
                if (t == null || t.isBlank() || t.contains("/") || t.contains(".")) {
                    throw new InvalidArgumentException("LoRA target module '" + t
                            + "' must be a plain module name such as q_proj (no '.' or '/')");
                }
            }
            return new LoraConfig(this);
        }
    }
}
