package dev.rectify.job;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the job service keeps job states and checkpoints: files for the CLI ({@link FileJobStore}), a database for
 * a server. Implementations must be thread-safe; {@link #save} must be atomic (a crash leaves the old or the new
 * state).
 */
public interface JobStore {
    /** The saved state of job {@code id}, if any. */
    Optional<JobState> load(String id);

    /** Saves {@code state} (called at each status change and after each optimizer step). */
    void save(JobState state);

    /** The folder job {@code id} keeps its checkpoints in (it may not exist yet). */
    Path runDir(String id);
}
