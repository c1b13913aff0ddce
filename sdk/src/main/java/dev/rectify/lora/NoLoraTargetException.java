package dev.rectify.lora;

import dev.rectify.core.ModelFormatException;

/** No MatMul/Gemm of the model matched the LoRA target modules; the message names patterns and candidates. */
public class NoLoraTargetException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public NoLoraTargetException(String message) {
        super(message);
    }
}
