package dev.rectify.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.FileTrees;
import dev.rectify.data.EncodedExample;
import dev.rectify.data.MicroBatch;
import dev.rectify.data.TrainingSchedule;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop over ONNX Runtime's training API: per optimizer step {@code LazyResetGrad → TrainStep × k →
 * OptimizerStep}, with the learning rate set from the schedule before every optimizer step, evaluation on the
 * held-out examples, early stopping, progress reports, cancellation between micro-batches, periodic checkpoints
 * (weights, optimizer moments and the loop's position, saved atomically) and exact resume, and steps with a
 * non-finite loss skipped up to a limit.
 * <p>Size: the training loop (steps, evaluation, checkpoints, resume, progress events), whose stages share the session and its state.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    static final String LATEST = "latest";
    static final String STATE = "trainer-state.json";

    private final TrainingArtifacts artifacts;
    private final FineTuneOptions options;
    private final SessionConfig sessionConfig;
    private final long padId;
    private final Path runDir;

    /**
     * @param runDir where checkpoints are written (created when missing)
     */
    public Trainer(
            TrainingArtifacts artifacts,
            FineTuneOptions options,
            SessionConfig sessionConfig,
            long padId,
            Path runDir) {
        this.artifacts = artifacts;
        this.options = options;
        this.sessionConfig = sessionConfig;
        this.padId = padId;
        this.runDir = runDir;
    }

    /** Trains on {@code train}, evaluating on {@code eval} (may be empty). */
    public TrainingResult train(List<EncodedExample> train, List<EncodedExample> eval) {
        if (train.isEmpty()) {
            throw new InvalidArgumentException("no training examples");
        }
        TrainingSchedule schedule =
                new TrainingSchedule(train, options.batchSize(), options.microBatchSize(), options.seed(), padId);
        int stepsPerEpoch = schedule.stepsPerEpoch();
        int totalSteps = options.maxSteps() > 0 ? options.maxSteps() : options.epochs() * stepsPerEpoch;
        int warmup = LrSchedule.warmupSteps(options.warmupRatio(), totalSteps);
        List<MicroBatch> evalBatches =
                eval.isEmpty() ? List.of() : TrainingSchedule.evaluationBatches(eval, options.microBatchSize(), padId);

        LoopState st = new LoopState();
        Path resumeFrom = options.resume() ? latestCheckpoint() : null;
        TrainingSession.setSeed(options.seed());
        long started = System.nanoTime();
        try (CheckpointState state = CheckpointState.load(
                        resumeFrom != null
                                ? resumeFrom.resolve(TrainingArtifacts.CHECKPOINT)
                                : artifacts.checkpoint());
                TrainingSession session = TrainingSession.create(
                        sessionConfig,
                        state,
                        artifacts.trainingModel(),
                        artifacts.evalModel(),
                        artifacts.optimizerModel())) {
            if (resumeFrom != null) {
                st = readState(resumeFrom, state);
                LOG.info("resuming from step {} ({})", st.step, resumeFrom);
            } else if (!evalBatches.isEmpty()) {
                st.initialEval = evaluate(session, evalBatches);
                report(
                        new TrainingProgress(
                                TrainingProgress.Phase.EVAL,
                                0,
                                totalSteps,
                                0,
                                Double.NaN,
                                Double.NaN,
                                0,
                                0,
                                0,
                                Duration.ZERO,
                                Duration.ZERO,
                                st.initialEval.loss(),
                                st.initialEval.nll(),
                                st.initialEval.tokenAccuracy(),
                                0),
                        st);
            }
            // biases and norm weights among the trained parameters: the decay of the others is applied here
            WeightDecay decay = WeightDecay.Where.TRAINER.name().equals(artifacts.property(ArtifactBuilder.PROP_DECAY))
                    ? WeightDecay.of(state, artifacts.trainableParameters())
                    : null;
            long trainedTokensAtStart = st.tokens;
            long loopStart = System.nanoTime();
            boolean stoppedEarly = false;
            while (st.step < totalSteps) {
                int epoch = st.step / stepsPerEpoch;
                List<MicroBatch> mbs = schedule.step(epoch, st.step % stepsPerEpoch);
                StepOutcome out = options.cancellation().isCancelled() ? StepOutcome.CANCELLED : runStep(session, mbs);
                if (out.cancelled) {
                    // the partial step's gradients are dropped: the checkpoint is the state after the last full step
                    session.lazyResetGrad();
                    if (st.savedAtStep != st.step) {
                        saveCheckpoint(state, st);
                    }
                    throw new TrainingCancelledException("fine-tuning cancelled after step " + st.step + " of "
                            + totalSteps + "; resume from " + runDir);
                }
                if (!out.finite) {
                    st.skipped++;
                    LOG.warn("step {}: non-finite loss, step skipped ({} so far)", st.step + 1, st.skipped);
                    if (st.skipped > options.maxNonFiniteSteps()) {
                        throw new NonFiniteLossException(
                                "training stopped: " + st.skipped + " steps had a NaN or infinite loss "
                                        + "(limit " + options.maxNonFiniteSteps()
                                        + "); lower the learning rate. The last good checkpoint"
                                        + (latestCheckpoint() == null
                                                ? " does not exist yet"
                                                : " is kept in " + latestCheckpoint()));
                    }
                    session.lazyResetGrad();
                } else if (out.microBatchesRun > 0) {
                    double lr = options.schedule().at(st.step, totalSteps, warmup, options.learningRate());
                    session.setLearningRate((float) lr);
                    if (decay != null) {
                        decay.applyBeforeStep(state, lr, options.weightDecay());
                    }
                    session.optimizerStep(null);
                    st.lastLr = lr;
                }
                st.step++;
                st.tokens += out.tokens;
                double secs = (System.nanoTime() - loopStart) / 1e9;
                double tps = (st.tokens - trainedTokensAtStart) / Math.max(secs, 1e-9);
                Duration elapsed = Duration.ofNanos(System.nanoTime() - started);
                Duration eta = Duration.ofMillis(
                        (long) (secs / Math.max(1, st.step - st.resumedAtStep) * (totalSteps - st.step) * 1000));
                report(
                        new TrainingProgress(
                                TrainingProgress.Phase.TRAIN,
                                st.step,
                                totalSteps,
                                epoch,
                                out.loss,
                                out.nll,
                                st.lastLr,
                                out.gradNorm,
                                tps,
                                elapsed,
                                eta,
                                Double.NaN,
                                Double.NaN,
                                Double.NaN,
                                st.skipped),
                        st);
                boolean endOfEpoch = st.step % stepsPerEpoch == 0;
                boolean evalDue = !evalBatches.isEmpty()
                        && st.step < totalSteps
                        && (options.evalEvery() > 0 ? st.step % options.evalEvery() == 0 : endOfEpoch);
                if (evalDue) {
                    EvalMetrics m = evaluate(session, evalBatches);
                    report(
                            new TrainingProgress(
                                    TrainingProgress.Phase.EVAL,
                                    st.step,
                                    totalSteps,
                                    epoch,
                                    Double.NaN,
                                    Double.NaN,
                                    st.lastLr,
                                    0,
                                    tps,
                                    elapsed,
                                    eta,
                                    m.loss(),
                                    m.nll(),
                                    m.tokenAccuracy(),
                                    st.skipped),
                            st);
                    if (m.nll() < st.bestNll - 1e-9) {
                        st.bestNll = m.nll();
                        st.evalsWithoutImprovement = 0;
                    } else {
                        st.evalsWithoutImprovement++;
                    }
                    if (options.earlyStoppingPatience() > 0
                            && st.evalsWithoutImprovement >= options.earlyStoppingPatience()) {
                        LOG.info(
                                "early stopping at step {}: held-out NLL has not improved for {} evaluations",
                                st.step,
                                st.evalsWithoutImprovement);
                        stoppedEarly = true;
                        break;
                    }
                }
                if (options.checkpointEvery() > 0 && st.step % options.checkpointEvery() == 0 && st.step < totalSteps) {
                    saveCheckpoint(state, st);
                }
            }
            EvalMetrics finalEval = evalBatches.isEmpty() ? EvalMetrics.NONE : evaluate(session, evalBatches);
            if (!evalBatches.isEmpty()) {
                report(
                        new TrainingProgress(
                                TrainingProgress.Phase.EVAL,
                                st.step,
                                totalSteps,
                                Math.max(0, st.step - 1) / stepsPerEpoch,
                                Double.NaN,
                                Double.NaN,
                                st.lastLr,
                                0,
                                0,
                                Duration.ofNanos(System.nanoTime() - started),
                                Duration.ZERO,
                                finalEval.loss(),
                                finalEval.nll(),
                                finalEval.tokenAccuracy(),
                                st.skipped),
                        st);
            }
            saveCheckpoint(state, st);
            TrainedWeights weights = readWeights(state);
            return new TrainingResult(
                    weights,
                    st.initialEval,
                    finalEval,
                    st.step,
                    st.skipped,
                    st.tokens,
                    Duration.ofNanos(System.nanoTime() - started),
                    stoppedEarly,
                    st.history);
        }
    }

    private void report(TrainingProgress p, LoopState st) {
        st.history.add(p);
        try {
            options.onProgress().onProgress(p);
        } catch (RuntimeException e) {
            LOG.warn("progress listener failed: {}", e.toString());
        }
    }

    /** Result of one optimizer step's forward/backward passes. */
    private record StepOutcome(
            double loss,
            double nll,
            double gradNorm,
            long tokens,
            boolean finite,
            int microBatchesRun,
            boolean cancelled) {
        static final StepOutcome CANCELLED = new StepOutcome(0, 0, 0, 0, true, 0, true);
    }

    private StepOutcome runStep(TrainingSession session, List<MicroBatch> mbs) {
        long stepTargets = 0;
        for (MicroBatch mb : mbs) {
            stepTargets += mb.targets();
        }
        session.lazyResetGrad();
        double loss = 0;
        double nllSum = 0;
        double gradNormSq = Double.NaN;
        long tokens = 0;
        boolean finite = true;
        List<String> outNames = session.trainingOutputNames();
        int iLoss = outNames.indexOf(ObjectiveHead.LOSS);
        int iNll = outNames.indexOf(ObjectiveHead.NLL_SUM);
        int iNorm = outNames.indexOf(ArtifactBuilder.GRAD_NORM_SQ);
        int ran = 0;
        for (MicroBatch mb : mbs) {
            if (options.cancellation().isCancelled()) {
                return StepOutcome.CANCELLED;
            }
            tokens += nonPad(mb);
            if (mb.targets() == 0) {
                continue;
            }
            ran++;
            float denom = options.normalization().denominator(mb.targets(), stepTargets, mbs.size());
            List<Tensor> outs = session.trainStep(feeds(session.trainingInputNames(), mb, denom), null);
            try {
                double l = iLoss >= 0 ? outs.get(iLoss).toFloats()[0] : Double.NaN;
                double n = iNll >= 0 ? outs.get(iNll).toFloats()[0] : Double.NaN;
                if (!Double.isFinite(l) || !Double.isFinite(n)) {
                    finite = false;
                }
                loss += l;
                nllSum += n;
                if (iNorm >= 0) {
                    gradNormSq = outs.get(iNorm).toFloats()[0];
                }
            } finally {
                outs.forEach(Tensor::close);
                closeFeeds();
            }
        }
        if (ran > 0 && iNorm >= 0 && !Double.isFinite(gradNormSq)) {
            finite = false;
        }
        // each micro-batch's loss is already divided by the step's denominator, so their sum is the step's objective
        return new StepOutcome(
                loss,
                nllSum / Math.max(1, stepTargets),
                ran > 0 ? Math.sqrt(Math.max(0, gradNormSq)) : 0,
                tokens,
                finite,
                ran,
                false);
    }

    private static long nonPad(MicroBatch mb) {
        long n = 0;
        for (long m : mb.attentionMask()) {
            n += m;
        }
        return n;
    }

    private final List<Tensor> openFeeds = new ArrayList<>();

    private List<Tensor> feeds(List<String> names, MicroBatch mb, float denominator) {
        long[] shape = {mb.rows(), mb.length()};
        List<Tensor> in = new ArrayList<>(names.size());
        for (String name : names) {
            Tensor t = switch (name) {
                case "input_ids" -> Tensor.ofLongs(mb.inputIds(), shape);
                case "attention_mask" -> Tensor.ofLongs(mb.attentionMask(), shape);
                case "position_ids" -> Tensor.ofLongs(mb.positionIds(), shape);
                case ObjectiveHead.LABELS -> Tensor.ofLongs(mb.labels(), shape);
                case ObjectiveHead.LOSS_DENOMINATOR -> Tensor.ofFloats(new float[] {denominator}, 1);
                default ->
                    throw new InvalidArgumentException("the training model takes an input '" + name
                            + "' Rectify does not know how to feed (expected input_ids, attention_mask, position_ids, labels, "
                            + "loss_denominator)");
            };
            in.add(t);
            openFeeds.add(t);
        }
        return in;
    }

    private void closeFeeds() {
        openFeeds.forEach(Tensor::close);
        openFeeds.clear();
    }

    /** Loss, NLL and token accuracy over the held-out batches. */
    EvalMetrics evaluate(TrainingSession session, List<MicroBatch> batches) {
        List<String> outNames = session.evalOutputNames();
        int iLoss = outNames.indexOf(ObjectiveHead.LOSS);
        int iNll = outNames.indexOf(ObjectiveHead.NLL_SUM);
        int iCorrect = outNames.indexOf(ObjectiveHead.CORRECT_TOKENS);
        double loss = 0;
        double nll = 0;
        double correct = 0;
        long tokens = 0;
        for (MicroBatch mb : batches) {
            if (mb.targets() == 0) {
                continue;
            }
            List<Tensor> outs = session.evalStep(feeds(session.evalInputNames(), mb, mb.targets()), null);
            try {
                loss += outs.get(iLoss).toFloats()[0] * mb.targets();
                nll += outs.get(iNll).toFloats()[0];
                correct += iCorrect >= 0 ? outs.get(iCorrect).toFloats()[0] : Double.NaN;
                tokens += mb.targets();
            } finally {
                outs.forEach(Tensor::close);
                closeFeeds();
            }
        }
        return new EvalMetrics(
                loss / Math.max(1, tokens), nll / Math.max(1, tokens), correct / Math.max(1, tokens), tokens);
    }

    private TrainedWeights readWeights(CheckpointState state) {
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (String name : artifacts.trainableParameters()) {
            try (Tensor t = state.parameter(name)) {
                values.put(name, t.toFloats());
                shapes.put(name, t.shape());
            }
        }
        return new TrainedWeights(values, shapes);
    }

    // ---- checkpoints -------------------------------------------------------------------------------------------

    /** The loop's position and bookkeeping, saved beside each checkpoint. */
    private static final class LoopState {
        int step;
        int resumedAtStep;
        int savedAtStep = -1;
        int skipped;
        long tokens;
        double lastLr;
        double bestNll = Double.POSITIVE_INFINITY;
        int evalsWithoutImprovement;
        EvalMetrics initialEval = EvalMetrics.NONE;
        final List<TrainingProgress> history = new ArrayList<>();
    }

    /** The step of the newest complete checkpoint in {@code runDir}, or -1 when it holds none. */
    public static int latestCheckpointStep(Path runDir) {
        Path dir = new Trainer(null, null, null, 0, runDir).latestCheckpoint();
        if (dir == null) {
            return -1;
        }
        try {
            return new ObjectMapper()
                    .readTree(dir.resolve(STATE).toFile())
                    .path("step")
                    .asInt(-1);
        } catch (IOException e) {
            throw new RectifyException("cannot read " + dir.resolve(STATE) + ": " + e.getMessage(), e);
        }
    }

    /** The folder of the newest complete checkpoint, or null. */
    Path latestCheckpoint() {
        Path pointer = runDir.resolve(LATEST);
        try {
            if (!Files.isRegularFile(pointer)) {
                return null;
            }
            Path dir = runDir.resolve(Files.readString(pointer).strip());
            return Files.isRegularFile(dir.resolve(STATE)) ? dir : null;
        } catch (IOException e) {
            throw new RectifyException("cannot read " + pointer + ": " + e.getMessage(), e);
        }
    }

    private void saveCheckpoint(CheckpointState state, LoopState st) {
        try {
            Files.createDirectories(runDir);
            String name = checkpointName(st.step);
            Path tmp = Files.createTempDirectory(runDir, "." + name + ".");
            state.save(tmp.resolve(TrainingArtifacts.CHECKPOINT), true);
            ObjectNode json = new ObjectMapper().createObjectNode();
            json.put("step", st.step);
            json.put("skipped", st.skipped);
            json.put("tokens", st.tokens);
            json.put("lastLr", st.lastLr);
            json.put("bestNll", Double.isInfinite(st.bestNll) ? null : st.bestNll);
            json.put("evalsWithoutImprovement", st.evalsWithoutImprovement);
            json.put("initialEvalLoss", st.initialEval.loss());
            json.put("initialEvalNll", st.initialEval.nll());
            json.put("initialEvalAccuracy", st.initialEval.tokenAccuracy());
            json.put("initialEvalTokens", st.initialEval.tokens());
            json.put("planHash", artifacts.property(ArtifactBuilder.PROP_PLAN_HASH));
            json.put("baseHash", artifacts.property(ArtifactBuilder.PROP_BASE_HASH));
            json.put("options", options.canonical());
            Files.writeString(tmp.resolve(STATE), json.toPrettyString());
            try (var files = Files.list(tmp)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    AtomicFile.fsync(f);
                }
            }
            AtomicFile.fsyncDir(tmp);
            Path target = runDir.resolve(name);
            if (Files.exists(target)) {
                FileTrees.delete(target);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            Path pointerTmp = runDir.resolve("." + LATEST + ".tmp");
            Files.writeString(pointerTmp, name);
            AtomicFile.fsync(pointerTmp);
            Files.move(
                    pointerTmp,
                    runDir.resolve(LATEST),
                    StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
            AtomicFile.fsyncDir(runDir);
            prune(st.step);
            st.savedAtStep = st.step;
        } catch (IOException e) {
            throw new RectifyException(
                    "cannot save a checkpoint in " + runDir + " (the previous one is intact): " + e.getMessage(), e);
        }
    }

    /**
     * Keeps the checkpoint of {@code newest} and the {@code keepCheckpoints - 1} newest before it; deletes older ones
     * and any of a later step (left by an abandoned run in the same folder).
     */
    private void prune(int newest) throws IOException {
        List<Integer> older = checkpointSteps(runDir).stream()
                .filter(s -> s < newest)
                .sorted((a, b) -> b - a)
                .toList();
        List<Integer> drop =
                new ArrayList<>(older.subList(Math.min(older.size(), options.keepCheckpoints() - 1), older.size()));
        checkpointSteps(runDir).stream().filter(s -> s > newest).forEach(drop::add);
        for (int step : drop) {
            FileTrees.delete(runDir.resolve(checkpointName(step)));
        }
    }

    private static String checkpointName(int step) {
        return String.format("step-%08d", step);
    }

    /** The steps of the complete checkpoints in {@code runDir}, ascending (empty when it holds none). */
    public static List<Integer> checkpointSteps(Path runDir) {
        if (!Files.isDirectory(runDir)) {
            return List.of();
        }
        try (var files = Files.list(runDir)) {
            return files.filter(d ->
                            d.getFileName().toString().matches("step-\\d{8,}") && Files.isRegularFile(d.resolve(STATE)))
                    .map(d -> Integer.parseInt(d.getFileName().toString().substring(5)))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new RectifyException("cannot list the checkpoints in " + runDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The trained parameters of the checkpoint of {@code step} in {@code runDir}, read from its training checkpoint
     * file without ONNX Runtime. {@code options} must be those the run was made with.
     *
     * @throws CheckpointNotFoundException when that checkpoint does not exist (never saved, or deleted since)
     * @throws CheckpointMismatchException when it was made with other options
     */
    public static TrainedWeights checkpointWeights(Path runDir, int step, FineTuneOptions options) {
        Path dir = runDir.resolve(checkpointName(step));
        if (!Files.isRegularFile(dir.resolve(STATE))) {
            throw new CheckpointNotFoundException("no checkpoint of step " + step + " in " + runDir
                    + " (it was never saved or " + "has been deleted); saved checkpoints: " + checkpointSteps(runDir));
        }
        String made;
        try {
            made = new ObjectMapper()
                    .readTree(dir.resolve(STATE).toFile())
                    .path("options")
                    .asText();
        } catch (IOException e) {
            throw new RectifyException("cannot read " + dir.resolve(STATE) + ": " + e.getMessage(), e);
        }
        if (!options.canonical().equals(made)) {
            throw new CheckpointMismatchException(
                    dir + " was made with other options (" + made + "), not " + options.canonical());
        }
        Path file = dir.resolve(TrainingArtifacts.CHECKPOINT);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (CheckpointFile.Entry e : CheckpointFile.read(file).trainable()) {
            if (e.dataType() != 1 || e.data() == null) {
                throw ModelFormatException.at(
                        file,
                        "trainable tensor '" + e.name() + "' is not float32 data (type " + e.dataType()
                                + "): not a checkpoint Rectify wrote");
            }
            values.put(e.name(), e.floats());
            shapes.put(e.name(), e.dims());
        }
        return new TrainedWeights(values, shapes);
    }

    private LoopState readState(Path dir, CheckpointState state) {
        try {
            var json = new ObjectMapper().readTree(dir.resolve(STATE).toFile());
            String plan = json.path("planHash").asText(null);
            String base = json.path("baseHash").asText(null);
            String myPlan = artifacts.property(ArtifactBuilder.PROP_PLAN_HASH);
            String myBase = artifacts.property(ArtifactBuilder.PROP_BASE_HASH);
            Object ckptBase = safeProperty(state, ArtifactBuilder.PROP_BASE_HASH);
            if ((myBase != null && !myBase.equals(base))
                    || (ckptBase != null && myBase != null && !myBase.equals(ckptBase))) {
                throw new CheckpointMismatchException(dir + " is a checkpoint of another base model (" + base
                        + "), not of " + myBase + ": use another run folder or resume=false");
            }
            if (myPlan != null && !myPlan.equals(plan)) {
                throw new CheckpointMismatchException(
                        dir + " was made with another training plan: use another run folder " + "or resume=false");
            }
            if (!options.canonical().equals(json.path("options").asText())) {
                throw new CheckpointMismatchException(dir + " was made with other options ("
                        + json.path("options").asText() + "); resuming needs the same options");
            }
            LoopState st = new LoopState();
            st.step = json.path("step").asInt();
            st.resumedAtStep = st.step;
            st.skipped = json.path("skipped").asInt();
            st.tokens = json.path("tokens").asLong();
            st.lastLr = json.path("lastLr").asDouble();
            st.bestNll = json.path("bestNll").isNull()
                    ? Double.POSITIVE_INFINITY
                    : json.path("bestNll").asDouble();
            st.evalsWithoutImprovement = json.path("evalsWithoutImprovement").asInt();
            st.initialEval = new EvalMetrics(
                    json.path("initialEvalLoss").asDouble(Double.NaN),
                    json.path("initialEvalNll").asDouble(Double.NaN),
                    json.path("initialEvalAccuracy").asDouble(Double.NaN),
                    json.path("initialEvalTokens").asLong());
            return st;
        } catch (IOException e) {
            throw new RectifyException("cannot read " + dir.resolve(STATE) + ": " + e.getMessage(), e);
        }
    }

    private static Object safeProperty(CheckpointState state, String name) {
        try {
            return state.property(name);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
