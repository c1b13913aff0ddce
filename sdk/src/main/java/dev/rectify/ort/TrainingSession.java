package dev.rectify.ort;

import dev.rectify.core.InvalidArgumentException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.onnxruntime.OrtTrainingApi;
import org.bytedeco.onnxruntime.OrtTrainingSession;
import org.bytedeco.onnxruntime.OrtValue;

/**
 * ONNX Runtime's on-device training session over training, eval and optimizer models and a
 * {@link CheckpointState}. Inputs to {@link #trainStep}/{@link #evalStep} are positional, in the order of
 * {@link #trainingInputNames()}/{@link #evalInputNames()} (ORT feeds parameters and gradient buffers itself).
 * Not thread-safe: one training loop drives it.
 */
public final class TrainingSession implements AutoCloseable {
    private final OrtTrainingSession session;
    private final CheckpointState state;
    private final List<String> trainInputs;
    private final List<String> trainOutputs;
    private final List<String> evalInputs;
    private final List<String> evalOutputs;
    private final boolean hasEval;
    private final boolean hasOptimizer;
    private boolean closed;

    private TrainingSession(OrtTrainingSession session, CheckpointState state, boolean hasEval, boolean hasOptimizer) {
        this.session = session;
        this.state = state;
        this.hasEval = hasEval;
        this.hasOptimizer = hasOptimizer;
        this.trainInputs = names(true, true);
        this.trainOutputs = names(true, false);
        this.evalInputs = hasEval ? names(false, true) : List.of();
        this.evalOutputs = hasEval ? names(false, false) : List.of();
    }

    /**
     * Creates a session from model files; {@code evalModel} and {@code optimizerModel} may be null. ORT's memory
     * patterns are always off here: training sees a new shape per micro-batch, and measured on the 30M benchmark
     * model the pattern planned on the second step added 326 MB of resident memory and made that step 9 s long.
     */
    public static TrainingSession create(
            SessionConfig config, CheckpointState state, Path trainingModel, Path evalModel, Path optimizerModel) {
        requireTrainableArena(config);
        OrtRuntime rt = OrtRuntime.get();
        OrtTrainingApi t = rt.trainingApi();
        try (NativeSessionOptions opts =
                config.toBuilder().memoryPattern(false).build().createNative()) {
            OrtTrainingSession s = new OrtTrainingSession();
            rt.check(
                    t.CreateTrainingSession(
                            rt.env(),
                            opts.handle(),
                            state.handle(),
                            path(trainingModel),
                            path(evalModel),
                            path(optimizerModel),
                            s),
                    "creating a training session from " + trainingModel);
            return new TrainingSession(s, state, evalModel != null, optimizerModel != null);
        }
    }

    /**
     * ONNX Runtime 1.24 refuses shared environment allocators in training sessions ("Use Env Allocators is not
     * supported for on device training"), so an arena growing as requested cannot reach them: said up front.
     */
    private static void requireTrainableArena(SessionConfig config) {
        if (config.cpuArena() && config.arenaGrowth() == ArenaGrowth.AS_REQUESTED) {
            throw new InvalidArgumentException("SessionConfig.arenaGrowth(AS_REQUESTED) works for inference sessions"
                    + " only: ONNX Runtime's training sessions cannot use the shared arena it needs; use the default"
                    + " growth or cpuArena(false) for training");
        }
    }

    /** Creates a session from in-memory models; {@code eval} and {@code optimizer} may be null. */
    public static TrainingSession create(
            SessionConfig config, CheckpointState state, byte[] training, byte[] eval, byte[] optimizer) {
        requireTrainableArena(config);
        OrtRuntime rt = OrtRuntime.get();
        OrtTrainingApi t = rt.trainingApi();
        try (NativeSessionOptions opts = config.createNative();
                BytePointer tr = new BytePointer(training);
                BytePointer ev = eval == null ? null : new BytePointer(eval);
                BytePointer op = optimizer == null ? null : new BytePointer(optimizer)) {
            OrtTrainingSession s = new OrtTrainingSession();
            rt.check(
                    t.CreateTrainingSessionFromBuffer(
                            rt.env(),
                            opts.handle(),
                            state.handle(),
                            tr,
                            training.length,
                            ev,
                            eval == null ? 0 : eval.length,
                            op,
                            optimizer == null ? 0 : optimizer.length,
                            s),
                    "creating a training session from in-memory models");
            return new TrainingSession(s, state, eval != null, optimizer != null);
        }
    }

    private static BytePointer path(Path p) {
        return p == null ? null : new BytePointer(p.toAbsolutePath().toString());
    }

    /** Seeds ORT's own random generators (dropout and the like). */
    public static void setSeed(long seed) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(rt.trainingApi().SetSeed(seed), "setting the training seed");
    }

    /** User inputs of the training model, in the order {@link #trainStep} expects. */
    public List<String> trainingInputNames() {
        return trainInputs;
    }

    /** Outputs {@link #trainStep} returns (gradient outputs excluded by ORT). */
    public List<String> trainingOutputNames() {
        return trainOutputs;
    }

    /** User inputs of the eval model, in the order {@link #evalStep} expects. */
    public List<String> evalInputNames() {
        return evalInputs;
    }

    /** Outputs {@link #evalStep} returns. */
    public List<String> evalOutputNames() {
        return evalOutputs;
    }

    /** The checkpoint state this session trains. */
    public CheckpointState state() {
        return state;
    }

    /** Resets gradient buffers lazily: the next train step overwrites instead of accumulating. */
    public void lazyResetGrad() {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(rt.trainingApi().LazyResetGrad(handle()), "resetting gradients");
    }

    /** One forward+backward pass accumulating gradients; returns the training outputs (caller closes them). */
    public List<Tensor> trainStep(List<Tensor> inputs, RunOptions options) {
        return step(true, inputs, options);
    }

    /** One forward pass of the eval model; returns its outputs (caller closes them). */
    public List<Tensor> evalStep(List<Tensor> inputs, RunOptions options) {
        if (!hasEval) {
            throw new IllegalStateException("this training session has no eval model");
        }
        return step(false, inputs, options);
    }

    private List<Tensor> step(boolean train, List<Tensor> inputs, RunOptions options) {
        List<String> expected = train ? trainInputs : evalInputs;
        if (inputs.size() != expected.size()) {
            throw new InvalidArgumentException((train ? "train" : "eval") + " step takes " + expected.size()
                    + " inputs " + expected + ", got " + inputs.size());
        }
        int outCount = (train ? trainOutputs : evalOutputs).size();
        OrtRuntime rt = OrtRuntime.get();
        PointerPointer<OrtValue> in = new PointerPointer<>(Math.max(1, inputs.size()));
        for (int i = 0; i < inputs.size(); i++) {
            in.put(i, inputs.get(i).handle());
        }
        PointerPointer<OrtValue> out = new PointerPointer<>(Math.max(1, outCount));
        for (int i = 0; i < outCount; i++) {
            out.put(i, null);
        }
        try {
            var api = rt.trainingApi();
            var ro = options == null ? null : options.handle();
            rt.check(
                    train
                            ? api.TrainStep(handle(), ro, inputs.size(), in, outCount, out)
                            : api.EvalStep(handle(), ro, inputs.size(), in, outCount, out),
                    train ? "in a train step" : "in an eval step");
            List<Tensor> result = new ArrayList<>(outCount);
            for (int i = 0; i < outCount; i++) {
                result.add(Tensor.adopt(new OrtValue(out.get(i))));
            }
            return result;
        } finally {
            in.close();
            out.close();
        }
    }

    /** Applies the optimizer to the accumulated gradients. */
    public void optimizerStep(RunOptions options) {
        if (!hasOptimizer) {
            throw new IllegalStateException("this training session has no optimizer model");
        }
        OrtRuntime rt = OrtRuntime.get();
        rt.check(
                rt.trainingApi().OptimizerStep(handle(), options == null ? null : options.handle()),
                "in an optimizer step");
    }

    /** Sets the learning rate (ORT does not restore it from checkpoints: set it after every creation). */
    public void setLearningRate(float lr) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(rt.trainingApi().SetLearningRate(handle(), lr), "setting the learning rate");
    }

    /** The current learning rate. */
    public float learningRate() {
        OrtRuntime rt = OrtRuntime.get();
        try (FloatPointer p = new FloatPointer(1)) {
            rt.check(rt.trainingApi().GetLearningRate(handle(), p), "reading the learning rate");
            return p.get();
        }
    }

    /** ORT's built-in linear warmup/decay schedule; {@link #schedulerStep()} then follows the optimizer step count. */
    public void registerLinearScheduler(long warmupSteps, long totalSteps, float initialLr) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(
                rt.trainingApi().RegisterLinearLRScheduler(handle(), warmupSteps, totalSteps, initialLr),
                "registering the scheduler");
    }

    /** Advances ORT's registered scheduler. */
    public void schedulerStep() {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(rt.trainingApi().SchedulerStep(handle()), "stepping the scheduler");
    }

    /** Number of parameter elements (all, or trainable only), in training-graph input order. */
    public long parameterCount(boolean trainableOnly) {
        OrtRuntime rt = OrtRuntime.get();
        SizeTPointer n = new SizeTPointer(1);
        rt.check(rt.trainingApi().GetParametersSize(handle(), n, trainableOnly), "counting parameters");
        return n.get();
    }

    /** Copies the parameters into one flat float array (training-graph input order). */
    public float[] copyParametersOut(boolean trainableOnly) {
        long n = parameterCount(trainableOnly);
        try (Tensor buf = Tensor.zeros(ElementType.FLOAT, n)) {
            OrtRuntime rt = OrtRuntime.get();
            rt.check(
                    rt.trainingApi().CopyParametersToBuffer(handle(), buf.handle(), trainableOnly),
                    "copying parameters out");
            return buf.toFloats();
        }
    }

    /** Overwrites the parameters from one flat float array (training-graph input order). */
    public void copyParametersIn(float[] values, boolean trainableOnly) {
        long n = parameterCount(trainableOnly);
        if (values.length != n) {
            throw new InvalidArgumentException(
                    "parameter buffer has " + values.length + " values, the session has " + n);
        }
        try (Tensor buf = Tensor.ofFloats(values, n)) {
            OrtRuntime rt = OrtRuntime.get();
            rt.check(
                    rt.trainingApi().CopyBufferToParameters(handle(), buf.handle(), trainableOnly),
                    "copying parameters in");
        }
    }

    /** Writes an inference model from the eval model with the current parameters as initializers. */
    public void exportForInference(Path file, List<String> outputNames) {
        OrtRuntime rt = OrtRuntime.get();
        PointerPointer<BytePointer> names = new PointerPointer<>(outputNames.toArray(new String[0]));
        try {
            rt.check(
                    rt.trainingApi()
                            .ExportModelForInferencing(
                                    handle(),
                                    new BytePointer(file.toAbsolutePath().toString()),
                                    outputNames.size(),
                                    names),
                    "exporting the model for inference to " + file);
        } finally {
            names.close();
        }
    }

    private List<String> names(boolean training, boolean inputs) {
        OrtRuntime rt = OrtRuntime.get();
        OrtTrainingApi t = rt.trainingApi();
        SizeTPointer count = new SizeTPointer(1);
        if (training) {
            rt.check(
                    inputs
                            ? t.TrainingSessionGetTrainingModelInputCount(session, count)
                            : t.TrainingSessionGetTrainingModelOutputCount(session, count),
                    "counting training IO");
        } else {
            rt.check(
                    inputs
                            ? t.TrainingSessionGetEvalModelInputCount(session, count)
                            : t.TrainingSessionGetEvalModelOutputCount(session, count),
                    "counting eval IO");
        }
        List<String> out = new ArrayList<>();
        for (long i = 0; i < count.get(); i++) {
            BytePointer p = new BytePointer();
            if (training) {
                rt.check(
                        inputs
                                ? t.TrainingSessionGetTrainingModelInputName(session, i, rt.allocator(), p)
                                : t.TrainingSessionGetTrainingModelOutputName(session, i, rt.allocator(), p),
                        "reading training IO names");
            } else {
                rt.check(
                        inputs
                                ? t.TrainingSessionGetEvalModelInputName(session, i, rt.allocator(), p)
                                : t.TrainingSessionGetEvalModelOutputName(session, i, rt.allocator(), p),
                        "reading eval IO names");
            }
            out.add(rt.takeString(p));
        }
        return Collections.unmodifiableList(out);
    }

    private OrtTrainingSession handle() {
        if (closed) {
            throw new IllegalStateException("training session is closed");
        }
        return session;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            OrtRuntime.get().trainingApi().ReleaseTrainingSession(session);
        }
    }
}
