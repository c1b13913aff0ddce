package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.server.db.JobRecord;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import java.util.List;

/** A job's served model name, and the SDK's progress as event data and checkpoint metrics. */
final class JobMapping {
    private JobMapping() {}

    /** The name a job's adapter is served under: {@code ft:<base>:<suffix or rectify>:<8 characters of the job id>}. */
    static String modelName(JobRecord j) {
        String shortId = j.getId().substring("ftjob-".length(), "ftjob-".length() + 8);
        return "ft:" + j.getModel() + ":" + (j.getSuffix() == null ? "rectify" : j.getSuffix()) + ":" + shortId;
    }

    /** A progress report's metrics event message. */
    static String progressMessage(TrainingProgress p) {
        return p.phase() == TrainingProgress.Phase.TRAIN
                ? "Step " + p.step() + "/" + p.totalSteps() + ": training loss=" + String.format("%.4f", p.loss())
                : "Step " + p.step() + "/" + p.totalSteps() + ": validation loss="
                        + String.format("%.4f", p.evalLoss());
    }

    /** A progress report's metrics event data. */
    static ObjectNode metrics(TrainingProgress p) {
        ObjectNode d = Json.object();
        d.put("step", p.step());
        d.put("total_steps", p.totalSteps());
        if (p.phase() == TrainingProgress.Phase.TRAIN) {
            d.put("train_loss", p.loss());
            d.put("train_nll", p.nll());
            d.put("learning_rate", p.learningRate());
            d.put("grad_norm", p.gradNorm());
            d.put("tokens_per_second", p.tokensPerSecond());
            d.put("epoch", p.epoch() + 1);
        } else {
            d.put("valid_loss", p.evalLoss());
            d.put("valid_nll", p.evalNll());
            d.put("valid_mean_token_accuracy", p.evalTokenAccuracy());
        }
        return d;
    }

    /** The final checkpoint's metrics. */
    static ObjectNode metrics(TrainingResult r) {
        ObjectNode m = Json.object();
        m.put("step", r.steps());
        List<TrainingProgress> train = r.history().stream()
                .filter(p -> p.phase() == TrainingProgress.Phase.TRAIN)
                .toList();
        if (!train.isEmpty()) {
            m.put("train_loss", train.get(train.size() - 1).loss());
        }
        if (!r.finalEval().isEmpty()) {
            m.put("full_valid_loss", r.finalEval().loss());
            m.put("full_valid_mean_token_accuracy", r.finalEval().tokenAccuracy());
        }
        return m;
    }
}
