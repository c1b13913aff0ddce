package dev.rectify.cli;

import dev.rectify.train.TrainingProgress;
import java.io.PrintWriter;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Shows training progress: a progress bar on a terminal, one line per step (and per evaluation) otherwise, so logs
 * and pipes stay readable.
 */
final class ProgressDisplay implements AutoCloseable {
    private final String name;
    private final PrintWriter err;
    private final boolean terminal = System.console() != null;
    private ProgressBar bar;

    ProgressDisplay(String name, PrintWriter err) {
        this.name = name;
        this.err = err;
    }

    synchronized void update(TrainingProgress p) {
        if (!terminal) {
            err.println(p);
            err.flush();
            return;
        }
        if (bar == null) {
            bar = new ProgressBarBuilder()
                    .setTaskName(name)
                    .setInitialMax(p.totalSteps())
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(200)
                    .continuousUpdate()
                    .build();
        }
        if (p.phase() == TrainingProgress.Phase.TRAIN) {
            bar.stepTo(p.step());
            bar.setExtraMessage(String.format("loss %.4f nll %.3f", p.loss(), p.nll()));
        } else {
            bar.setExtraMessage(String.format("eval nll %.3f acc %.3f", p.evalNll(), p.evalTokenAccuracy()));
        }
    }

    /** Progress of a counted task (evaluation): {@code done} of {@code total}. */
    synchronized void count(long done, long total) {
        if (!terminal) {
            err.printf("%s: %d/%d%n", name, done, total);
            err.flush();
            return;
        }
        if (bar == null) {
            bar = new ProgressBarBuilder()
                    .setTaskName(name)
                    .setInitialMax(total)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(200)
                    .continuousUpdate()
                    .build();
        }
        bar.stepTo(done);
    }

    @Override
    public synchronized void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
