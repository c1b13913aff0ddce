package dev.rectify.lora;

import dev.rectify.core.InvalidArgumentException;

/**
 * An adapter does not fit the base model it is applied to: trained on another base, a tensor whose name or shape
 * the base does not have, a missing A or B, a rank other than the declared one, or not a LoRA adapter.
 */
public class AdapterMismatchException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    /** What does not fit. */
    public enum Reason {
        OTHER_BASE,
        UNKNOWN_MODULE,
        MISSING_TENSOR,
        RANK_MISMATCH,
        SHAPE_MISMATCH,
        NOT_LORA
    }

    private final Reason reason;

    public AdapterMismatchException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
