package dev.rectify.server;

import dev.rectify.core.io.FileTrees;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes the training checkpoints ({@code <data-dir>/runs/JOB}) of jobs that succeeded, failed or were cancelled
 * more than {@code rectify.jobs.checkpoint-retention} ago, and those of jobs the database no longer knows, with the
 * checkpoint models made from them ({@link CheckpointModels}). A succeeded job's adapter lives elsewhere
 * ({@code <data-dir>/adapters}) and stays. Runs every ten minutes.
 */
@Singleton
public class CheckpointRetention {
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointRetention.class);

    private final Settings settings;
    private final JobRepository jobs;
    private final CheckpointModels checkpointModels;

    public CheckpointRetention(Settings settings, JobRepository jobs, CheckpointModels checkpointModels) {
        this.settings = settings;
        this.jobs = jobs;
        this.checkpointModels = checkpointModels;
    }

    @Scheduled(initialDelay = "1m", fixedDelay = "10m")
    void scheduled() {
        sweep(settings.checkpointRetention());
    }

    /** Deletes the run folders of jobs finished more than {@code retention} ago; returns the job ids deleted. */
    public List<String> sweep(Duration retention) {
        List<String> deleted = new ArrayList<>();
        Path runs = settings.runsDir();
        if (!Files.isDirectory(runs)) {
            return deleted;
        }
        long cutoff = System.currentTimeMillis() - retention.toMillis();
        List<Path> dirs;
        try (var s = Files.list(runs)) {
            dirs = s.filter(Files::isDirectory).toList();
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", runs, e.getMessage());
            return deleted;
        }
        for (Path dir : dirs) {
            String id = dir.getFileName().toString();
            if (!id.startsWith("ftjob-")) {
                continue;
            }
            Optional<JobRecord> job = jobs.findById(id);
            boolean expired = job.map(j -> JobStatus.of(j.getStatus()).isTerminal()
                            && j.getFinishedAt() != null
                            && j.getFinishedAt() <= cutoff)
                    .orElse(true);
            if (expired) {
                try {
                    checkpointModels.forgetJob(id);
                    FileTrees.delete(dir);
                    checkpointModels.unlistDeleted(id, Integer.MAX_VALUE);
                    deleted.add(id);
                    LOG.info(
                            "deleted the checkpoints of job {} ({})",
                            id,
                            job.map(JobRecord::getStatus).orElse("unknown job"));
                } catch (IOException e) {
                    LOG.warn("cannot delete the checkpoints of job {}: {}", id, e.getMessage());
                }
            }
        }
        return deleted;
    }
}
