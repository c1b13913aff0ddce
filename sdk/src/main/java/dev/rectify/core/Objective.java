package dev.rectify.core;

import java.util.Locale;

/**
 * The training objective, per target token t with model probability p_t of the demonstrated token:
 * <ul>
 *   <li>{@link #SFT}: −log p_t (plain negative log-likelihood);</li>
 *   <li>{@link #DFT}: −sg(p_t)·log p_t, Dynamic Fine-Tuning: each token's loss weighted by its own probability,
 *       with the weight treated as a constant (stop-gradient);</li>
 *   <li>{@link #dftClamped(double)}: −sg(max(p_t, c))·log p_t, DFT whose weight never falls below c (c = 1 is SFT);</li>
 *   <li>{@link #mix(double)}: λ·SFT + (1−λ)·DFT.</li>
 * </ul>
 * Each is averaged over target tokens (see {@code Normalization}). DFT's loss is typically 10–20× smaller than
 * the NLL, which Rectify always reports beside it. DFT is known to underperform SFT where the base model gives
 * the target tokens low probability (new formats, special tokens, new knowledge).
 */
public record Objective(Kind kind, double parameter) {
    /** Objective families. */
    public enum Kind {
        SFT,
        DFT,
        DFT_CLAMPED,
        MIX
    }

    /** Supervised fine-tuning: mean token NLL. */
    public static final Objective SFT = new Objective(Kind.SFT, 0);
    /** Dynamic Fine-Tuning: mean of −sg(p_t)·log p_t. */
    public static final Objective DFT = new Objective(Kind.DFT, 0);

    public Objective {
        if (kind == null) {
            throw new InvalidArgumentException("objective kind is required");
        }
        if ((kind == Kind.DFT_CLAMPED || kind == Kind.MIX) && !(parameter >= 0 && parameter <= 1)) {
            throw new InvalidArgumentException(kind + " parameter must be in [0, 1], got " + parameter);
        }
        if ((kind == Kind.SFT || kind == Kind.DFT) && parameter != 0) {
            throw new InvalidArgumentException(kind + " takes no parameter");
        }
    }

    /** DFT with the token weight clamped from below: −sg(max(p_t, minWeight))·log p_t. */
    public static Objective dftClamped(double minWeight) {
        return new Objective(Kind.DFT_CLAMPED, minWeight);
    }

    /** λ·NLL + (1−λ)·DFT. */
    public static Objective mix(double lambda) {
        return new Objective(Kind.MIX, lambda);
    }

    /** The token weight w(p) this objective multiplies −log p by (evaluated as a constant in the backward). */
    public double weight(double p) {
        return switch (kind) {
            case SFT -> 1.0;
            case DFT -> p;
            case DFT_CLAMPED -> Math.max(p, parameter);
            case MIX -> parameter + (1 - parameter) * p;
        };
    }

    /** Parses {@code sft}, {@code dft}, {@code dft-clamped:0.1} or {@code mix:0.5}. */
    public static Objective parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        try {
            if (v.equals("sft") || v.equals("supervised")) {
                return SFT;
            } else if (v.equals("dft")) {
                return DFT;
            } else if (v.startsWith("dft-clamped:")) {
                return dftClamped(Double.parseDouble(v.substring("dft-clamped:".length())));
            } else if (v.startsWith("mix:")) {
                return mix(Double.parseDouble(v.substring(4)));
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new InvalidArgumentException("unknown objective '" + s + "': use sft, dft, dft-clamped:C or mix:LAMBDA");
    }

    @Override
    public String toString() {
        return switch (kind) {
            case SFT -> "sft";
            case DFT -> "dft";
            case DFT_CLAMPED -> "dft-clamped:" + parameter;
            case MIX -> "mix:" + parameter;
        };
    }
}
