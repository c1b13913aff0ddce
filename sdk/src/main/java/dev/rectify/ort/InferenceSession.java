package dev.rectify.ort;

import static org.bytedeco.onnxruntime.global.onnxruntime.ONNX_TYPE_TENSOR;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.onnxruntime.OrtApi;
import org.bytedeco.onnxruntime.OrtSession;
import org.bytedeco.onnxruntime.OrtTensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.OrtTypeInfo;
import org.bytedeco.onnxruntime.OrtValue;

/**
 * An ONNX Runtime inference session. {@link #run} is safe to call from many threads at once (ORT sessions are);
 * {@link #close()} waits for runs in flight.
 */
public final class InferenceSession implements AutoCloseable {
    private final OrtSession session;
    private final String source;
    private final SessionConfig config;
    private final List<ValueInfo> inputs;
    private final List<ValueInfo> outputs;
    private final Map<String, ValueInfo> inputsByName;
    /** Native copies of every input and output name, made once: a decode step must not allocate them per run. */
    private final Map<String, BytePointer> nativeNames = new HashMap<>();

    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private InferenceSession(OrtSession session, String source, SessionConfig config) {
        this.session = session;
        this.source = source;
        this.config = config;
        this.inputs = readInfos(true);
        this.outputs = readInfos(false);
        Map<String, ValueInfo> byName = new LinkedHashMap<>();
        inputs.forEach(v -> byName.put(v.name(), v));
        this.inputsByName = Collections.unmodifiableMap(byName);
        inputs.forEach(v -> nativeNames.put(v.name(), new BytePointer(v.name())));
        outputs.forEach(v -> nativeNames.putIfAbsent(v.name(), new BytePointer(v.name())));
    }

    /** Opens a model file (external data beside it is found by ORT). */
    public static InferenceSession open(Path model, SessionConfig config) {
        if (!Files.isRegularFile(model)) {
            throw ModelFormatException.at(model, "model file not found");
        }
        OrtRuntime rt = OrtRuntime.get();
        try (NativeSessionOptions opts = config.createNative()) {
            OrtSession s = new OrtSession();
            try {
                rt.check(
                        rt.api()
                                .CreateSession(
                                        rt.env(),
                                        new BytePointer(model.toAbsolutePath().toString()),
                                        opts.handle(),
                                        s),
                        "loading " + model);
            } catch (OrtException e) {
                throw translateLoadError(model.toString(), e);
            }
            return new InferenceSession(s, model.toString(), config);
        }
    }

    /** Creates a session from an in-memory model (no external data). */
    public static InferenceSession fromBytes(byte[] model, String name, SessionConfig config) {
        OrtRuntime rt = OrtRuntime.get();
        try (NativeSessionOptions opts = config.createNative();
                BytePointer bytes = new BytePointer(model)) {
            OrtSession s = new OrtSession();
            try {
                rt.check(
                        rt.api().CreateSessionFromArray(rt.env(), bytes, model.length, opts.handle(), s),
                        "loading " + name);
            } catch (OrtException e) {
                throw translateLoadError(name, e);
            }
            return new InferenceSession(s, name, config);
        }
    }

    private static RuntimeException translateLoadError(String where, OrtException e) {
        String m = e.getMessage();
        if (e.code() == OrtErrorCode.INVALID_PROTOBUF
                || e.code() == OrtErrorCode.NO_SUCHFILE
                || m.contains("Protobuf parsing failed")
                || m.contains("Load model from")) {
            return new ModelFormatException(where + ": not a readable ONNX model (" + m + ")", e);
        }
        if (e.code() == OrtErrorCode.NOT_IMPLEMENTED
                || m.contains("Could not find an implementation")
                || m.contains("is not a registered function/op")
                || m.contains("No Op registered")) {
            return new ModelFormatException(
                    where + ": uses an operator the configured execution provider cannot run (" + m
                            + "); re-export the model with standard ONNX ops or choose another execution provider",
                    e);
        }
        return e;
    }

    /** The inputs, in the model's order. */
    public List<ValueInfo> inputs() {
        return inputs;
    }

    /** The outputs, in the model's order. */
    public List<ValueInfo> outputs() {
        return outputs;
    }

    /** The input of that name, or null. */
    public ValueInfo input(String name) {
        return inputsByName.get(name);
    }

    /** Whether an input of that name exists. */
    public boolean hasInput(String name) {
        return inputsByName.containsKey(name);
    }

    /** Whether an output of that name exists. */
    public boolean hasOutput(String name) {
        return outputs.stream().anyMatch(o -> o.name().equals(name));
    }

    /** The model this session was made from (file path or given name). */
    public String source() {
        return source;
    }

    public SessionConfig config() {
        return config;
    }

    /** Runs the model with default run options. */
    public Outputs run(Map<String, Tensor> feeds, Collection<String> outputNames) {
        return run(feeds, outputNames, null);
    }

    /**
     * Runs the model. {@code feeds} maps input names to tensors (the caller keeps ownership); the returned
     * outputs belong to the caller and must be closed. {@code options} may be null.
     */
    public Outputs run(Map<String, Tensor> feeds, Collection<String> outputNames, RunOptions options) {
        if (outputNames.isEmpty()) {
            throw new InvalidArgumentException("no outputs requested from " + source);
        }
        for (String name : feeds.keySet()) {
            if (!inputsByName.containsKey(name)) {
                throw new InvalidArgumentException(
                        source + " has no input named '" + name + "'; inputs: " + names(inputs));
            }
        }
        for (String name : outputNames) {
            if (!hasOutput(name)) {
                throw new InvalidArgumentException(
                        source + " has no output named '" + name + "'; outputs: " + names(outputs));
            }
        }
        OrtRuntime rt = OrtRuntime.get();
        List<String> inNames = new ArrayList<>(feeds.keySet());
        List<String> outNames = new ArrayList<>(outputNames);
        PointerPointer<BytePointer> inNamePtrs = new PointerPointer<>(inNames.size());
        PointerPointer<BytePointer> outNamePtrs = new PointerPointer<>(outNames.size());
        PointerPointer<OrtValue> inValues = new PointerPointer<>(inNames.size());
        for (int i = 0; i < inNames.size(); i++) {
            inNamePtrs.put(i, nativeNames.get(inNames.get(i)));
            inValues.put(i, feeds.get(inNames.get(i)).handle());
        }
        for (int i = 0; i < outNames.size(); i++) {
            outNamePtrs.put(i, nativeNames.get(outNames.get(i)));
        }
        PointerPointer<OrtValue> outValues = new PointerPointer<>(outNames.size());
        for (int i = 0; i < outNames.size(); i++) {
            outValues.put(i, null);
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            rt.check(
                    rt.api()
                            .Run(
                                    session,
                                    options == null ? null : options.handle(),
                                    inNamePtrs,
                                    inValues,
                                    inNames.size(),
                                    outNamePtrs,
                                    outNames.size(),
                                    outValues),
                    "running " + source);
        } finally {
            lifecycle.readLock().unlock();
            inNamePtrs.close();
            inValues.close();
            outNamePtrs.close();
        }
        Map<String, Tensor> result = new LinkedHashMap<>();
        try {
            for (int i = 0; i < outNames.size(); i++) {
                result.put(outNames.get(i), Tensor.adopt(new OrtValue(outValues.get(i))));
            }
        } catch (RuntimeException e) {
            result.values().forEach(Tensor::close);
            throw e;
        } finally {
            outValues.close();
        }
        return new Outputs(result);
    }

    private static List<String> names(List<ValueInfo> infos) {
        return infos.stream().map(ValueInfo::name).toList();
    }

    private List<ValueInfo> readInfos(boolean in) {
        OrtRuntime rt = OrtRuntime.get();
        OrtApi api = rt.api();
        SizeTPointer count = new SizeTPointer(1);
        rt.check(
                in ? api.SessionGetInputCount(session, count) : api.SessionGetOutputCount(session, count),
                "counting IO");
        List<ValueInfo> out = new ArrayList<>();
        for (long i = 0; i < count.get(); i++) {
            BytePointer namePtr = new BytePointer();
            rt.check(
                    in
                            ? api.SessionGetInputName(session, i, rt.allocator(), namePtr)
                            : api.SessionGetOutputName(session, i, rt.allocator(), namePtr),
                    "reading IO names");
            String name = rt.takeString(namePtr);
            OrtTypeInfo typeInfo = new OrtTypeInfo();
            rt.check(
                    in
                            ? api.SessionGetInputTypeInfo(session, i, typeInfo)
                            : api.SessionGetOutputTypeInfo(session, i, typeInfo),
                    "reading the type of " + name);
            try {
                out.add(describe(rt, name, typeInfo));
            } finally {
                api.ReleaseTypeInfo(typeInfo);
            }
        }
        return Collections.unmodifiableList(out);
    }

    static ValueInfo describe(OrtRuntime rt, String name, OrtTypeInfo typeInfo) {
        OrtApi api = rt.api();
        IntPointer onnxType = new IntPointer(1);
        rt.check(api.GetOnnxTypeFromTypeInfo(typeInfo, onnxType), "reading the kind of " + name);
        if (onnxType.get() != ONNX_TYPE_TENSOR) {
            return new ValueInfo(name, null, null, List.of());
        }
        OrtTensorTypeAndShapeInfo info = new OrtTensorTypeAndShapeInfo();
        rt.check(api.CastTypeInfoToTensorInfo(typeInfo, info), "reading the tensor type of " + name);
        // info is owned by typeInfo: do not release it.
        IntPointer et = new IntPointer(1);
        rt.check(api.GetTensorElementType(info, et), "reading the element type of " + name);
        long[] dims = Tensor.readDims(rt, info);
        List<String> symbols = new ArrayList<>();
        if (dims.length > 0) {
            PointerPointer<BytePointer> syms = new PointerPointer<>(dims.length);
            rt.check(api.GetSymbolicDimensions(info, syms, dims.length), "reading the dim names of " + name);
            for (int d = 0; d < dims.length; d++) {
                BytePointer p = syms.get(BytePointer.class, d);
                symbols.add(p == null || p.isNull() ? "" : p.getString());
            }
        }
        return new ValueInfo(name, ElementType.ofOnnxCode(et.get()), dims, Collections.unmodifiableList(symbols));
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("session for " + source + " is closed");
        }
    }

    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                OrtRuntime.get().api().ReleaseSession(session);
                nativeNames.values().forEach(BytePointer::close);
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }
}
