package dev.rectify.train;

import dev.rectify.onnx.Graph;

/**
 * Brings a causal LM graph as published to the layout training uses ({@code input_ids, attention_mask[,
 * position_ids] → logits}, int64 ids, no KV cache, float32 compute): Optimum's merged decoder is inlined through its
 * no-cache branch ({@link NoCacheBranchInliner}), a with-past export gets an empty cache ({@link EmptyPastFeeder}),
 * int32 ids, mask and positions become int64 inputs ({@link IdInputsInt64}), and a float16/bfloat16 base computes in
 * float32 ({@link HalfPrecisionUpcast}). Inference keeps the original graph.
 */
public final class TrainableLayout {
    private TrainableLayout() {}

    /** Rewrites {@code g} in place and returns it. */
    public static Graph prepare(Graph g) {
        NoCacheBranchInliner.inline(g);
        EmptyPastFeeder.feedEmpty(g);
        IdInputsInt64.widen(g);
        HalfPrecisionUpcast.upcast(g);
        return g;
    }
}
