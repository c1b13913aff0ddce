package dev.rectify.job;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.FileTrees;
import dev.rectify.model.BundledModel;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.RunCheckpoints;
import dev.rectify.train.TrainingCancelledException;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fine-tuning job service: the one place that fingerprints a fine-tune ({@link Fingerprint}), reuses an
 * identical finished one, keeps checkpoints in a run folder, resumes, tracks status, cancels and pauses, and reports
 * progress as {@link JobEvent}s. The SDK's {@code Adapter.fineTune}, the CLI's {@code finetune} and {@code batch}
 * and the server's jobs all run through it.
 *
 * <p>With a {@link JobStore}, a job submitted under the id of an earlier one with the same fingerprint is
 * <em>reused</em> when that one succeeded and its output is intact, and <em>resumed</em> from its last checkpoint
 * otherwise; a different fingerprint starts over (its old checkpoints are deleted). A run folder keeps the newest
 * {@link FineTuneOptions#keepCheckpoints()} checkpoints; a finished job's are deleted unless the service keeps them
 * ({@link Builder#keepFinishedCheckpoints}). With an {@link AdapterStore} (and neither a job store nor a caller-managed run folder), identical
 * requests are served from the store and concurrent identical ones train once.
 */
public final class FineTuneService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FineTuneService.class);
    private final JobStore jobs;
    private final AdapterStore adapters;
    private final int parallelism;
    private final String threadName;
    private final boolean keepFinishedCheckpoints;
    private ExecutorService pool;

    private FineTuneService(Builder b) {
        this.jobs = b.jobs;
        this.adapters = b.adapters;
        this.parallelism = b.parallelism;
        this.threadName = b.threadName;
        this.keepFinishedCheckpoints = b.keepFinishedCheckpoints;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Starts {@code request} on the service's workers; {@code listeners} see every event of the job. */
    public FineTuneJob submit(FineTuneRequest request, JobListener... listeners) {
        FineTuneJob job = prepare(request, listeners);
        pool().execute(() -> execute(job, request));
        return job;
    }

    /** Runs {@code request} on the calling thread and returns its adapter (or throws what ended the job). */
    public Adapter run(FineTuneRequest request, JobListener... listeners) {
        FineTuneJob job = prepare(request, listeners);
        execute(job, request);
        return job.await();
    }

    /** Stops the workers (running jobs are interrupted at their next step only through their handles). */
    @Override
    public synchronized void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    private synchronized ExecutorService pool() {
        if (pool == null) {
            AtomicInteger n = new AtomicInteger();
            pool = Executors.newFixedThreadPool(parallelism, r -> {
                Thread t = new Thread(r, threadName + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        return pool;
    }

    private static FineTuneJob prepare(FineTuneRequest r, JobListener... listeners) {
        FineTuneOptions o = r.options();
        String fp = Fingerprint.of(r.base().contentHash(), r.examples(), o.evalExamples(), o.hyperparameters());
        FineTuneJob job = new FineTuneJob(r.id() != null ? r.id() : fp, fp, o.cancellation());
        for (JobListener l : listeners) {
            job.addListener(l);
        }
        return job;
    }

    /** Runs a job to its end; never throws (the outcome is in the job's result). */
    private void execute(FineTuneJob job, FineTuneRequest r) {
        FineTuneOptions o = r.options();
        String fp = job.fingerprint();
        boolean managedRunDir = o.runDir() == null && jobs != null;
        Path runDir = o.runDir() != null
                ? o.runDir()
                : jobs != null
                        ? jobs.runDir(job.id())
                        : BundledModel.home().resolve("runs").resolve(fp.substring(0, 24));
        JobState state = new JobState(job.id(), fp, JobStatus.RUNNING, 0, 0, r.output(), null, Instant.now());
        AtomicInteger total = new AtomicInteger();
        try {
            if (job.token().isCancelled()) {
                throw new TrainingCancelledException("the job was stopped before it started");
            }
            JobState prior = jobs == null ? null : jobs.load(job.id()).orElse(null);
            boolean same = prior != null && fp.equals(prior.fingerprint());
            job.status(JobStatus.RUNNING);
            if (same && prior.status() == JobStatus.SUCCEEDED) {
                Adapter done = finished(r, fp);
                if (done != null) {
                    job.reused(true);
                    int steps = done.result().map(TrainingResult::steps).orElse(prior.step());
                    // a run folder left by a stop just after the adapter was written goes too
                    succeed(
                            job,
                            state.at(steps, steps),
                            done.withOptions(o),
                            managedRunDir ? runDir : null,
                            "reused the adapter of the identical job that finished at " + prior.updated()
                                    + (r.output() == null ? "" : " in " + r.output()));
                    return;
                }
            }
            boolean resume = o.resume() || (same && managedRunDir);
            if (!resume && managedRunDir) {
                deleteTree(runDir); // checkpoints of other inputs cannot be resumed
            }
            if (r.output() != null) {
                checkReplaceable(r.output());
            }
            int from = resume ? RunCheckpoints.latestCheckpointStep(runDir) : -1;
            job.resumedFrom(from);
            save(state);
            job.emit(JobEvent.status(
                    job.id(),
                    JobStatus.RUNNING,
                    Math.max(0, from),
                    from >= 0 ? "resuming from the checkpoint of step " + from + " in " + runDir : "started"));
            FineTuneOptions run = o.toBuilder()
                    .runDir(runDir)
                    .resume(resume)
                    .onProgress(p -> {
                        o.onProgress().onProgress(p);
                        total.set(p.totalSteps());
                        job.emit(JobEvent.progress(job.id(), p));
                        if (p.phase() == TrainingProgress.Phase.TRAIN
                                && o.checkpointEvery() > 0
                                && p.step() % o.checkpointEvery() == 0
                                && p.step() < p.totalSteps()) {
                            job.emit(JobEvent.checkpoint(job.id(), p.step()));
                        }
                    })
                    .build();
            boolean[] trained = {false};
            Supplier<Adapter> make = () -> {
                trained[0] = true;
                return TrainingSetup.train(fp, r.base(), r.examples(), run);
            };
            Adapter a;
            if (adapters == null) {
                a = make.get();
            } else if (resume || o.runDir() != null || jobs != null) {
                a = make.get(); // a run with its own checkpoints: always trained, then stored
                storeQuietly(a);
            } else {
                a = adapters.getOrCreate(fp, make);
                job.reused(!trained[0]);
                if (a.options().orElse(null) != o) {
                    a = a.withOptions(o);
                }
            }
            if (r.output() != null) {
                AdapterFiles.write(a, r.output());
            }
            int steps = a.result().map(TrainingResult::steps).orElse(job.step());
            // the adapter is safe: its checkpoints are no longer needed
            succeed(
                    job,
                    state.at(steps, Math.max(total.get(), steps)),
                    a,
                    managedRunDir ? runDir : null,
                    job.reused()
                            ? "reused the stored identical adapter " + fp.substring(0, 16)
                            : "finished after " + steps + " steps");
        } catch (TrainingCancelledException e) {
            JobStatus s = job.pauseRequested() ? JobStatus.PAUSED : JobStatus.CANCELLED;
            end(
                    job,
                    state.at(job.step(), total.get()).with(s, null),
                    s == JobStatus.PAUSED
                            ? "paused at step " + job.step() + ": submit the job again to resume it"
                            : e.getMessage());
            job.fail(
                    s == JobStatus.PAUSED
                            ? new JobPausedException("job " + job.id() + " paused at step " + job.step()
                                    + "; submit it again to resume from " + runDir)
                            : e);
        } catch (RuntimeException | Error e) {
            String why = e instanceof RectifyException
                    ? e.getMessage()
                    : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            if (!(e instanceof RectifyException)) {
                LOG.error("job {} failed", job.id(), e);
            }
            try {
                end(job, state.at(job.step(), total.get()).with(JobStatus.FAILED, why), why);
            } catch (RuntimeException again) {
                LOG.error("cannot record the failure of job {}", job.id(), again);
            }
            job.fail(e);
        }
    }

    /** The adapter of a finished identical job, when still intact (checksums verified), else null. */
    private Adapter finished(FineTuneRequest r, String fp) {
        try {
            if (r.output() != null) {
                Adapter a = AdapterFiles.read(r.output(), null);
                return a.id().equals(fp) ? a : null;
            }
            return adapters == null ? null : adapters.find(fp).orElse(null);
        } catch (RuntimeException e) {
            LOG.info("the finished adapter of job {} is gone or damaged ({}); training again", r.id(), e.getMessage());
            return null;
        }
    }

    /**
     * Records success, then deletes {@code runDir} (when not null and finished jobs' checkpoints are not kept), then
     * tells listeners and completes the result.
     */
    private void succeed(FineTuneJob job, JobState state, Adapter a, Path runDir, String message) {
        save(state.with(JobStatus.SUCCEEDED, null));
        if (runDir != null && !keepFinishedCheckpoints) {
            deleteQuietly(runDir);
        }
        job.status(JobStatus.SUCCEEDED);
        job.emit(JobEvent.status(job.id(), JobStatus.SUCCEEDED, state.step(), message));
        job.complete(a);
    }

    private void end(FineTuneJob job, JobState state, String message) {
        job.status(state.status());
        save(state);
        job.emit(JobEvent.status(job.id(), state.status(), state.step(), message));
    }

    private void save(JobState s) {
        if (jobs != null) {
            jobs.save(s);
        }
    }

    private void storeQuietly(Adapter a) {
        try {
            adapters.put(a);
        } catch (RectifyException e) {
            LOG.warn("could not store adapter {}: {}", a.id().substring(0, 12), e.getMessage());
        }
    }

    /** Refuses to replace a folder that is not an adapter (an output pointing at the wrong place). */
    private static void checkReplaceable(Path output) {
        if (!Files.isDirectory(output)) {
            if (Files.exists(output)) {
                throw new InvalidArgumentException(
                        "output " + output + " exists and is not a folder: refusing to replace it");
            }
            return;
        }
        try (Stream<Path> s = Files.list(output)) {
            boolean empty = s.findAny().isEmpty();
            if (!empty
                    && !Files.exists(output.resolve(AdapterFiles.MANIFEST))
                    && !Files.exists(output.resolve(AdapterFiles.WEIGHTS))) {
                throw new InvalidArgumentException("output " + output
                        + " exists and is not an adapter folder: refusing to " + "replace it (choose another output)");
            }
        } catch (IOException e) {
            throw new RectifyException("cannot read " + output + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path dir) {
        try {
            FileTrees.delete(dir);
        } catch (IOException e) {
            throw new RectifyException("cannot delete the old run folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path dir) {
        FileTrees.deleteQuietly(dir); // best effort: a leftover run folder only costs disk
    }

    /** Builder for {@link FineTuneService}. */
    public static final class Builder {
        private JobStore jobs;
        private AdapterStore adapters;
        private int parallelism = 1;
        private String threadName = "rectify-finetune";
        private boolean keepFinishedCheckpoints;

        private Builder() {}

        /** Where job states and checkpoints are kept (default none: jobs are not remembered). */
        public Builder jobStore(JobStore store) {
            this.jobs = store;
            return this;
        }

        /** The content-addressed adapters to reuse and fill (default none). */
        public Builder adapterStore(AdapterStore store) {
            this.adapters = store;
            return this;
        }

        /** Jobs trained at once by {@link #submit} (default 1). */
        public Builder parallelism(int n) {
            if (n < 1 || n > 256) {
                throw new InvalidArgumentException("parallelism must be in [1, 256], got " + n);
            }
            this.parallelism = n;
            return this;
        }

        /** The name prefix of the worker threads. */
        public Builder threadName(String name) {
            this.threadName = name;
            return this;
        }

        /**
         * Keep a finished job's checkpoints in its run folder (default false: deleted once the adapter is safe), for
         * a caller that serves them ({@link CheckpointAdapters}) and deletes them by its own retention policy.
         */
        public Builder keepFinishedCheckpoints(boolean keep) {
            this.keepFinishedCheckpoints = keep;
            return this;
        }

        public FineTuneService build() {
            return new FineTuneService(this);
        }
    }
}
