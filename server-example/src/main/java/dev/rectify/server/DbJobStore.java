package dev.rectify.server;

import dev.rectify.job.JobState;
import dev.rectify.job.JobStatus;
import dev.rectify.job.JobStore;
import dev.rectify.server.db.JobRepository;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;

/**
 * The SDK job service's {@link JobStore} over the server's job table. It keeps the fingerprint (so a restart resumes a
 * job only with the same inputs) and reads the status back; the API status of a finished job is written by the
 * {@link JobRunner}, which first registers the job's model and records its events.
 */
final class DbJobStore implements JobStore {
    private final JobRepository jobs;
    private final Path runs;

    DbJobStore(JobRepository jobs, Path runs) {
        this.jobs = jobs;
        this.runs = runs;
    }

    @Override
    public Optional<JobState> load(String id) {
        return jobs.findById(id).map(r -> {
            // the API's statuses carry the SDK's names, but for validating_files (queued, for the SDK)
            String name = r.getStatus().toUpperCase(Locale.ROOT);
            JobStatus status = name.equals("VALIDATING_FILES") ? JobStatus.QUEUED : JobStatus.valueOf(name);
            return new JobState(
                    id,
                    r.getFingerprint(),
                    status,
                    r.getLastStep() == null ? 0 : r.getLastStep(),
                    r.getTotalSteps() == null ? 0 : r.getTotalSteps(),
                    null,
                    r.getErrorMessage(),
                    Instant.ofEpochMilli(r.getCreatedAt()));
        });
    }

    @Override
    public void save(JobState state) {
        jobs.fingerprint(state.id(), state.fingerprint());
    }

    @Override
    public Path runDir(String id) {
        return runs.resolve(Ids.check(id, "ftjob", "id"));
    }
}
