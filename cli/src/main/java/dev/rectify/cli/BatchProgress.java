package dev.rectify.cli;

import dev.rectify.train.TrainingProgress;
import java.io.PrintWriter;
import java.util.HashMap;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a batch: on a terminal, an overall bar (jobs finished) and a bar per running job; otherwise one line
 * per event, prefixed with the job's name ({@code [name] step 3/40 ...}, {@code batch: [name] done ...}), so logs of
 * parallel jobs stay readable.
 */
final class BatchProgress implements AutoCloseable {
    private final PrintWriter err;
    private final boolean terminal;
    private final int jobs;
    private final Map<String, ProgressBar> bars = new HashMap<>();
    private ProgressBar overall;
    private int finished;

    BatchProgress(PrintWriter err, int jobs, boolean terminal) {
        this.err = err;
        this.jobs = jobs;
        this.terminal = terminal;
        if (terminal) {
            overall = new ProgressBarBuilder()
                    .setTaskName("batch")
                    .setInitialMax(jobs)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(200)
                    .continuousUpdate()
                    .build();
        }
    }

    /** The job starts training; {@code note} says whether it resumes. */
    synchronized void started(String name, String note) {
        if (!terminal) {
            line("batch: [" + name + "] " + note);
            return;
        }
        bars.computeIfAbsent(
                        name,
                        n -> new ProgressBarBuilder()
                                .setTaskName(n)
                                .setInitialMax(-1)
                                .setStyle(ProgressBarStyle.ASCII)
                                .setUpdateIntervalMillis(200)
                                .continuousUpdate()
                                .build())
                .setExtraMessage(note);
    }

    synchronized void update(String name, TrainingProgress p) {
        if (!terminal) {
            line("[" + name + "] " + p);
            return;
        }
        ProgressBar bar = bars.get(name);
        if (bar == null) {
            return;
        }
        bar.maxHint(p.totalSteps());
        if (p.phase() == TrainingProgress.Phase.TRAIN) {
            bar.stepTo(p.step());
            bar.setExtraMessage(String.format("loss %.4f nll %.3f", p.loss(), p.nll()));
        } else {
            bar.setExtraMessage(String.format("eval nll %.3f", p.evalNll()));
        }
    }

    /** The job ended: {@code status} done, skipped or failed, and a detail (time, reason or error). */
    synchronized void finished(String name, String status, String detail) {
        finished++;
        if (!terminal) {
            line("batch: [" + name + "] " + status + (detail.isEmpty() ? "" : ": " + detail) + " (" + finished + "/"
                    + jobs + " jobs finished)");
            return;
        }
        ProgressBar bar = bars.remove(name);
        if (bar != null) {
            bar.setExtraMessage(status);
            bar.close();
        }
        overall.stepTo(finished);
    }

    private void line(String s) {
        err.println(s);
        err.flush();
    }

    @Override
    public synchronized void close() {
        for (ProgressBar b : bars.values()) {
            b.close();
        }
        bars.clear();
        if (overall != null) {
            overall.close();
            overall = null;
        }
    }
}
