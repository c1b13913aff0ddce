package dev.rectify.generate;

/** Why a sequence stopped. */
public enum FinishReason {
    /** The model produced an end-of-sequence token. */
    EOS,
    /** The text reached one of the stop strings. */
    STOP_STRING,
    /** {@code maxNewTokens} tokens were generated. */
    MAX_TOKENS,
    /** The model's context window is full. */
    CONTEXT_FULL;

    /** OpenAI's {@code finish_reason}: "stop" or "length". */
    public String openAiName() {
        return this == EOS || this == STOP_STRING ? "stop" : "length";
    }
}
