package dev.rectify.train;

/** Receives {@link TrainingProgress} reports on the training thread; keep it quick. */
@FunctionalInterface
public interface ProgressListener {
    void onProgress(TrainingProgress progress);
}
