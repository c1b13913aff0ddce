package dev.rectify.job;

/** Receives a job's events, on the thread that made them (the training thread for progress): keep it quick. */
@FunctionalInterface
public interface JobListener {
    void onEvent(JobEvent event);
}
