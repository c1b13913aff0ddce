package dev.rectify.train;

/**
 * What the summed token loss is divided by. The training graph divides by its {@code loss_denominator} input
 * either way; the trainer chooses what to feed.
 */
public enum Normalization {
    /**
     * The number of target tokens in the whole optimizer step (all micro-batches), as TRL
     * ({@code num_items_in_batch}), LLaMA-Factory and ms-swift do: every token weighs the same.
     */
    STEP_TOKENS,
    /**
     * The paper's code: each micro-batch's token mean, averaged over micro-batches (the trainer feeds
     * micro-batch token count × number of micro-batches).
     */
    MICRO_BATCH_MEAN;

    /** The denominator to feed for a micro-batch with {@code microTokens} target tokens. */
    public float denominator(long microTokens, long stepTokens, int microBatches) {
        return switch (this) {
            case STEP_TOKENS -> Math.max(1, stepTokens);
            case MICRO_BATCH_MEAN -> Math.max(1, microTokens) * (float) Math.max(1, microBatches);
        };
    }
}
