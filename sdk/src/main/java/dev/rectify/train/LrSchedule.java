package dev.rectify.train;

import java.util.Locale;

/**
 * Learning-rate schedules with Hugging Face Trainer's semantics ({@code transformers.get_scheduler}): the factor at
 * optimizer step {@code s} (counted from 0, so the first update uses {@code s = 0}) with {@code w} warmup steps of
 * {@code n} is {@code s / max(1, w)} while {@code s < w} — the rate is 0 on the first step — then
 * <ul>
 *   <li>{@link #LINEAR}: {@code max(0, (n − s) / max(1, n − w))};</li>
 *   <li>{@link #COSINE}: {@code max(0, ½(1 + cos(π · (s − w) / max(1, n − w))))};</li>
 *   <li>{@link #CONSTANT_WITH_WARMUP}: 1;</li>
 *   <li>{@link #CONSTANT}: 1 from the first step, without warmup (Hugging Face ignores the warmup for it).</li>
 * </ul>
 */
public enum LrSchedule {
    COSINE,
    LINEAR,
    CONSTANT,
    CONSTANT_WITH_WARMUP;

    /** The rate at optimizer step {@code step} (0-based) of {@code total}, with {@code warmup} warmup steps. */
    public double at(int step, int total, int warmup, double peak) {
        return peak * factor(step, total, warmup);
    }

    /** The multiplier of the peak rate at {@code step} (0-based) of {@code total} with {@code warmup} warmup steps. */
    public double factor(int step, int total, int warmup) {
        if (this == CONSTANT) {
            return 1.0;
        }
        if (step < warmup) {
            return step / (double) Math.max(1, warmup);
        }
        return switch (this) {
            case LINEAR -> Math.max(0.0, (total - step) / (double) Math.max(1, total - warmup));
            case COSINE -> {
                double progress = (step - warmup) / (double) Math.max(1, total - warmup);
                yield Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * progress)));
            }
            case CONSTANT_WITH_WARMUP, CONSTANT -> 1.0;
        };
    }

    /**
     * Warmup steps for a ratio, as Hugging Face's {@code TrainingArguments.get_warmup_steps}: {@code ceil(total ×
     * ratio)}.
     */
    public static int warmupSteps(double ratio, int total) {
        return (int) Math.ceil(ratio * total);
    }

    /** Hugging Face's name ({@code lr_scheduler_type}): {@code cosine}, {@code linear}, {@code constant}, ... */
    public String hfName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The schedule named {@code name} (Hugging Face's names, any case), or null when none is. */
    public static LrSchedule byName(String name) {
        for (LrSchedule s : values()) {
            if (s.hfName().equals(name.toLowerCase(Locale.ROOT).replace('-', '_'))) {
                return s;
            }
        }
        return null;
    }
}
