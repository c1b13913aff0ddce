package dev.rectify.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainingProgress;
import dev.rectify.train.TrainingResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A run's metrics log in the layout of Hugging Face Trainer's {@code trainer_state.json}, so tools that read those
 * (and people who know them) read ours: {@code global_step}, {@code epoch}, {@code max_steps},
 * {@code num_train_epochs}, {@code train_batch_size}, and {@code log_history} with one entry per optimizer step
 * ({@code step}, fractional {@code epoch}, {@code loss} — the objective —, {@code learning_rate}, {@code grad_norm},
 * and Rectify's {@code nll}, the plain NLL of the same tokens), one per evaluation ({@code eval_loss},
 * {@code eval_nll}, {@code eval_token_accuracy}) and a closing summary ({@code train_loss}, {@code train_runtime}).
 */
final class TrainerState {
    static final String FILE = "trainer_state.json";

    private TrainerState() {}

    /** The state of a finished run of {@code stepsPerEpoch} steps per epoch. */
    static ObjectNode of(TrainingResult result, FineTuneOptions options, int stepsPerEpoch) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode s = json.createObjectNode();
        List<TrainingProgress> history = result.history();
        int totalSteps = history.isEmpty() ? result.steps() : history.get(0).totalSteps();
        ArrayNode log = json.createArrayNode();
        double lossSum = 0;
        int trainEntries = 0;
        for (TrainingProgress p : history) {
            ObjectNode e = log.addObject();
            e.put("epoch", epoch(p.step(), stepsPerEpoch));
            if (p.phase() == TrainingProgress.Phase.TRAIN) {
                number(e, "grad_norm", p.gradNorm());
                number(e, "learning_rate", p.learningRate());
                number(e, "loss", p.loss());
                number(e, "nll", p.nll());
                lossSum += p.loss();
                trainEntries++;
            } else {
                number(e, "eval_loss", p.evalLoss());
                number(e, "eval_nll", p.evalNll());
                number(e, "eval_token_accuracy", p.evalTokenAccuracy());
            }
            e.put("step", p.step());
        }
        ObjectNode end = log.addObject();
        end.put("epoch", epoch(result.steps(), stepsPerEpoch));
        end.put("step", result.steps());
        end.put("total_flos", 0);
        number(end, "train_loss", trainEntries == 0 ? Double.NaN : lossSum / trainEntries);
        end.put("train_runtime", result.duration().toMillis() / 1000.0);
        end.put("train_tokens", result.trainedTokens());
        s.putNull("best_metric");
        s.putNull("best_model_checkpoint");
        s.put("epoch", epoch(result.steps(), stepsPerEpoch));
        s.put("eval_steps", options.evalEvery() > 0 ? options.evalEvery() : stepsPerEpoch);
        s.put("global_step", result.steps());
        s.put("is_hyper_param_search", false);
        s.put("is_local_process_zero", true);
        s.put("is_world_process_zero", true);
        s.set("log_history", log);
        s.put("logging_steps", 1);
        s.put("max_steps", totalSteps);
        s.put(
                "num_train_epochs",
                options.maxSteps() > 0 ? (int) Math.ceil(totalSteps / (double) stepsPerEpoch) : options.epochs());
        s.put("save_steps", options.checkpointEvery() > 0 ? options.checkpointEvery() : totalSteps);
        s.put("stopped_early", result.stoppedEarly());
        s.put("total_flos", 0);
        s.put("train_batch_size", options.batchSize());
        s.putNull("trial_name");
        s.putNull("trial_params");
        return s;
    }

    /** A number, or null when it is NaN or infinite (JSON has neither). */
    private static void number(ObjectNode n, String key, double v) {
        if (Double.isFinite(v)) {
            n.put(key, v);
        } else {
            n.putNull(key);
        }
    }

    /** Hugging Face's fractional epoch after {@code step} optimizer steps, to 4 places. */
    static double epoch(int step, int stepsPerEpoch) {
        return Math.round(step / (double) Math.max(1, stepsPerEpoch) * 1e4) / 1e4;
    }

    /** Writes {@code state} to {@code dir}/trainer_state.json atomically. */
    static Path write(ObjectNode state, Path dir) {
        Path file = dir.resolve(FILE);
        try {
            AtomicFile.write(
                    file,
                    new ObjectMapper()
                            .writerWithDefaultPrettyPrinter()
                            .writeValueAsString(state)
                            .getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }
}
