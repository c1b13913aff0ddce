package dev.rectify.train;

/**
 * What the backward pass recomputes instead of keeping from the forward (activation memory against compute).
 * Measured on a 313M-parameter Llama, LoRA, 2x128 tokens, 2 cores: see docs/benchmarks.md.
 */
public enum Checkpointing {
    /** Keep every activation the backward reads (fastest, most memory). */
    NONE,
    /**
     * Keep only each decoder layer's input; recompute the whole layer's forward in the backward pass (least memory,
     * about one more forward of compute).
     */
    LAYERS,
    /**
     * Keep the outputs of each layer's products with its weight matrices and recompute the rest of the layer from
     * them: norms, activations, rotary embeddings, the attention core and the LoRA branches. Most of the saving of
     * {@link #LAYERS} for a small part of its extra compute, since the products are where the compute is.
     */
    SELECTIVE
}
