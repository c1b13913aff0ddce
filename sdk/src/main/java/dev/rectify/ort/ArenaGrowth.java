package dev.rectify.ort;

/**
 * How ONNX Runtime's CPU arena grows when it runs out of room ({@code arena_extend_strategy}). ORT's default
 * doubles each new region, so a peak can leave up to half of the last region unused; {@link #AS_REQUESTED}
 * grows by exactly what the failed request needs.
 */
public enum ArenaGrowth {
    /** ORT's default ({@code kNextPowerOfTwo}): each new region is the next power of two of the request. */
    POWER_OF_TWO(0),
    /**
     * {@code kSameAsRequested}: each new region is the request's size. Sessions with this setting share one CPU arena
     * registered in the process-wide environment ({@code session.use_env_allocators}). Inference sessions
     * only: ONNX Runtime's training sessions refuse environment allocators.
     */
    AS_REQUESTED(1);

    final int ortValue;

    ArenaGrowth(int ortValue) {
        this.ortValue = ortValue;
    }
}
