package dev.rectify.train;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.data.EncodedExample;
import dev.rectify.data.MicroBatch;
import dev.rectify.data.TrainingSchedule;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.ExecutionProvider;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop over ONNX Runtime's training API: per optimizer step {@code LazyResetGrad → TrainStep × k →
 * OptimizerStep}, with the learning rate set from the schedule before every optimizer step, evaluation on the
 * held-out examples, early stopping, progress reports, cancellation between micro-batches, periodic checkpoints
 * (weights, optimizer moments and the loop's position, saved atomically) and exact resume, and steps with a
 * non-finite loss skipped up to a limit. float16 artifacts ({@link ComputePrecision#FLOAT16}) get dynamic loss
 * scaling ({@link LossScaler}): a step whose gradients overflowed is skipped without counting against that limit while
 * the scale is at least 1. The checkpoint folders themselves are {@link RunCheckpoints}'.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final TrainingArtifacts artifacts;
    private final FineTuneOptions options;
    private final SessionConfig sessionConfig;
    private final long padId;
    private final Path runDir;
    private final RunCheckpoints checkpoints;
    /** The loss scale fed to a float16 training model in the current step. */
    private float lossScale = 1;

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
        this.checkpoints = new RunCheckpoints(artifacts, options, runDir);
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

        checkHalfKernels();
        LoopState st = new LoopState();
        Path resumeFrom = options.resume() ? checkpoints.latest() : null;
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
                st = checkpoints.readState(resumeFrom, state);
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
            LossScaler scaler = session.trainingInputNames().contains(ArtifactBuilder.LOSS_SCALE)
                    ? new LossScaler(options.lossScaleGrowthInterval())
                    : null;
            if (scaler != null) {
                scaler.start(st, options.initialLossScale());
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
                lossScale = scaler == null ? 1 : (float) st.lossScale;
                StepOutcome out = options.cancellation().isCancelled() ? StepOutcome.CANCELLED : runStep(session, mbs);
                if (out.cancelled) {
                    // the partial step's gradients are dropped: the checkpoint is the state after the last full step
                    session.lazyResetGrad();
                    if (st.savedAtStep != st.step) {
                        checkpoints.save(state, st);
                    }
                    throw new TrainingCancelledException("fine-tuning cancelled after step " + st.step + " of "
                            + totalSteps + "; resume from " + runDir);
                }
                boolean overflow = scaler != null && !out.finite && out.lossFinite;
                if (overflow && st.lossScale >= 1) {
                    LOG.info(
                            "step {}: float16 gradients overflowed at loss scale {}; step skipped, scale halved",
                            st.step + 1,
                            st.lossScale);
                    scaler.overflowed(st);
                    session.lazyResetGrad();
                } else if (!out.finite) {
                    if (overflow) {
                        scaler.overflowed(st);
                    }
                    st.skipped++;
                    LOG.warn("step {}: non-finite loss, step skipped ({} so far)", st.step + 1, st.skipped);
                    if (st.skipped > options.maxNonFiniteSteps()) {
                        throw new NonFiniteLossException(
                                "training stopped: " + st.skipped + " steps had a NaN or infinite loss "
                                        + "(limit " + options.maxNonFiniteSteps()
                                        + "); lower the learning rate. The last good checkpoint"
                                        + (checkpoints.latest() == null
                                                ? " does not exist yet"
                                                : " is kept in " + checkpoints.latest()));
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
                    if (scaler != null) {
                        scaler.stepped(st);
                    }
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
                    checkpoints.save(state, st);
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
            checkpoints.save(state, st);
            TrainedWeights weights = checkpoints.weights(state);
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
            boolean lossFinite,
            int microBatchesRun,
            boolean cancelled) {
        static final StepOutcome CANCELLED = new StepOutcome(0, 0, 0, 0, true, true, 0, true);
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
        boolean lossFinite = true;
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
                    lossFinite = false;
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
                lossFinite,
                ran,
                false);
    }

    /**
     * Refuses half-kernel artifacts ({@link TrainingPlan#computePrecision()} without emulation) on the CPU, whose
     * provider has no float16/bfloat16 MatMul kernels.
     */
    private void checkHalfKernels() {
        String p = artifacts.property(ArtifactBuilder.PROP_PRECISION);
        if (p != null
                && !p.isEmpty()
                && !p.endsWith("~emulated")
                && sessionConfig.provider().kind() == ExecutionProvider.Kind.CPU) {
            throw new InvalidArgumentException("the training artifacts in " + artifacts.folder() + " compute in " + p
                    + ", which needs CUDA: ONNX Runtime's CPU provider has no " + p + " MatMul kernels. Train on "
                    + "the CPU in float32 (computePrecision(FLOAT32), the default) or on a CUDA device");
        }
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
                case ArtifactBuilder.LOSS_SCALE -> Tensor.ofFloats(new float[] {lossScale}, 1);
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
}
