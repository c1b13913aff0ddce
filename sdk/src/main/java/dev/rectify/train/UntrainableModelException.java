package dev.rectify.train;

import dev.rectify.core.ModelFormatException;

/**
 * The base model cannot be turned into training artifacts: no {@code logits} output, KV-cache inputs, an
 * inference-only contrib op (GroupQueryAttention, RotaryEmbedding, MatMulNBits...) on the path to the logits, or
 * a parameter the logits do not depend on. The message names the op, node or tensor and what to do.
 */
public class UntrainableModelException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public UntrainableModelException(String message) {
        super(message);
    }

    public UntrainableModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
