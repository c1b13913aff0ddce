package dev.rectify.train;

/**
 * Dynamic loss scaling for float16 training, torch.cuda.amp.GradScaler's policy: a step whose gradients are not
 * finite (a half product overflowed) is skipped and the scale halved; after {@code growthInterval} good steps in a row
 * the scale doubles. The scale and the count live in {@link LoopState}, so they are checkpointed and resumed.
 */
final class LossScaler {
    static final double GROWTH = 2;
    static final double BACKOFF = 0.5;

    private final int growthInterval;

    LossScaler(int growthInterval) {
        this.growthInterval = growthInterval;
    }

    /** Sets the first scale unless {@code st} has one (a resumed run). */
    void start(LoopState st, double initialScale) {
        if (!(st.lossScale > 0)) {
            st.lossScale = initialScale;
            st.lossScaleGoodSteps = 0;
        }
    }

    /** After a step skipped for non-finite gradients. */
    void overflowed(LoopState st) {
        st.lossScale *= BACKOFF;
        st.lossScaleGoodSteps = 0;
        st.overflows++;
    }

    /** After an optimizer step. */
    void stepped(LoopState st) {
        if (++st.lossScaleGoodSteps >= growthInterval) {
            st.lossScale *= GROWTH;
            st.lossScaleGoodSteps = 0;
        }
    }
}
