package dev.rectify.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.server.db.CheckpointRecord;
import dev.rectify.server.db.EventRecord;
import dev.rectify.server.db.JobRecord;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import java.util.List;

/** Job, event and checkpoint records as OpenAI's fine-tuning API shows them, and the SDK's progress as event data. */
final class JobMapping {
    private JobMapping() {}

    /** The name a job's adapter is served under: {@code ft:<base>:<suffix or rectify>:<8 characters of the job id>}. */
    static String modelName(JobRecord j) {
        String shortId = j.getId().substring("ftjob-".length(), "ftjob-".length() + 8);
        return "ft:" + j.getModel() + ":" + (j.getSuffix() == null ? "rectify" : j.getSuffix()) + ":" + shortId;
    }

    static ObjectNode json(JobRecord j) {
        ObjectNode o = Json.object();
        o.put("id", j.getId());
        o.put("object", "fine_tuning.job");
        o.put("model", j.getModel());
        o.put("created_at", j.getCreatedAt() / 1000);
        if (j.getFinishedAt() == null) {
            o.putNull("finished_at");
        } else {
            o.put("finished_at", j.getFinishedAt() / 1000);
        }
        o.put("fine_tuned_model", j.getFineTunedModel());
        o.put("organization_id", "org-rectify");
        var results = o.putArray("result_files");
        if (j.getResultFiles() != null && !j.getResultFiles().isEmpty()) {
            for (String f : j.getResultFiles().split(",")) {
                results.add(f);
            }
        }
        o.put("status", JobStatus.of(j.getStatus()).wire());
        o.put("validation_file", j.getValidationFile());
        o.put("training_file", j.getTrainingFile());
        JobSpec spec = JobSpec.fromJson(j.getHyperparameters());
        ObjectNode hp = spec.hyperparametersJson();
        o.set("hyperparameters", hp);
        ObjectNode method = o.putObject("method");
        method.put("type", spec.methodType());
        method.putObject(spec.methodType()).set("hyperparameters", hp.deepCopy());
        if (j.getTrainedTokens() == null) {
            o.putNull("trained_tokens");
        } else {
            o.put("trained_tokens", j.getTrainedTokens());
        }
        if (j.getErrorMessage() == null) {
            o.putNull("error");
        } else {
            ObjectNode e = o.putObject("error");
            e.put("code", j.getErrorCode());
            e.put("message", j.getErrorMessage());
            e.put("param", j.getErrorParam());
        }
        o.put("seed", j.getSeed());
        if (j.getEstimatedFinish() != null && JobStatus.of(j.getStatus()) == JobStatus.RUNNING) {
            o.put("estimated_finish", (j.getEstimatedFinish() + 999) / 1000);
        } else {
            o.putNull("estimated_finish");
        }
        if (j.getMetadata() == null) {
            o.putNull("metadata");
        } else {
            o.set("metadata", Json.parse(j.getMetadata()));
        }
        o.putArray("integrations");
        o.put("user_provided_suffix", j.getSuffix());
        if (j.getLastStep() != null) {
            ObjectNode pr = o.putObject("progress");
            pr.put("step", j.getLastStep());
            pr.put("total_steps", j.getTotalSteps());
        }
        return o;
    }

    static ObjectNode json(EventRecord e) {
        ObjectNode o = Json.object();
        o.put("id", e.getId());
        o.put("object", "fine_tuning.job.event");
        o.put("created_at", e.getCreatedAt() / 1000);
        o.put("level", e.getEventLevel());
        o.put("message", e.getMessage());
        o.put("type", e.getEventType());
        if (e.getData() == null) {
            o.putObject("data");
        } else {
            o.set("data", Json.parse(e.getData()));
        }
        return o;
    }

    static ObjectNode json(CheckpointRecord c) {
        ObjectNode o = Json.object();
        o.put("id", c.getId());
        o.put("object", "fine_tuning.job.checkpoint");
        o.put("created_at", c.getCreatedAt() / 1000);
        o.put("fine_tuned_model_checkpoint", c.getCheckpointModel());
        o.put("fine_tuning_job_id", c.getJobId());
        o.put("step_number", c.getStepNumber());
        o.set("metrics", Json.parse(c.getMetrics()));
        return o;
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
