package dev.rectify.train;

/** Learning-rate schedules: linear warmup, then cosine decay to 0, linear decay to 0, or constant. */
public enum LrSchedule {
    COSINE, LINEAR, CONSTANT;

    /** The rate at optimizer step {@code step} (0-based) of {@code total}, with {@code warmup} warmup steps. */
    public double at(int step, int total, int warmup, double peak) {
        if (warmup > 0 && step < warmup) {
            return peak * (step + 1) / (double) (warmup + 1);
        }
        int decaySteps = Math.max(1, total - warmup);
        double progress = Math.min(1.0, (step - warmup) / (double) decaySteps);
        return switch (this) {
            case COSINE -> peak * 0.5 * (1 + Math.cos(Math.PI * progress));
            case LINEAR -> peak * (1 - progress);
            case CONSTANT -> peak;
        };
    }
}
