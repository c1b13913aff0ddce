package dev.rectify.ort;

import static org.bytedeco.onnxruntime.global.onnxruntime.OrtFloatProperty;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtIntProperty;
import static org.bytedeco.onnxruntime.global.onnxruntime.OrtStringProperty;

import dev.rectify.core.ModelFormatException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.onnxruntime.OrtCheckpointState;
import org.bytedeco.onnxruntime.OrtValue;

/**
 * ONNX Runtime's training checkpoint state (parameters, optimizer moments, properties), loaded from an
 * {@code ODTC} flatbuffer. A {@link TrainingSession} trains it in place; {@link #save} writes it back.
 */
public final class CheckpointState implements AutoCloseable {
    private final OrtCheckpointState state;
    private final String source;
    private BytePointer buffer; // kept alive for buffer-loaded states
    private boolean closed;

    private CheckpointState(OrtCheckpointState state, String source, BytePointer buffer) {
        this.state = state;
        this.source = source;
        this.buffer = buffer;
    }

    /** Loads a checkpoint file (and its {@code <path>.data} side file when it has external data). */
    public static CheckpointState load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw ModelFormatException.at(file, "checkpoint not found");
        }
        OrtRuntime rt = OrtRuntime.get();
        OrtCheckpointState s = new OrtCheckpointState();
        try {
            rt.check(
                    rt.trainingApi()
                            .LoadCheckpoint(
                                    new BytePointer(file.toAbsolutePath().toString()), s),
                    "loading checkpoint " + file);
        } catch (OrtException e) {
            throw new ModelFormatException(
                    file + ": not a valid ONNX Runtime training checkpoint (" + e.getMessage() + ")", e);
        }
        return new CheckpointState(s, file.toString(), null);
    }

    /** Loads a checkpoint from memory (no external data). */
    public static CheckpointState fromBytes(byte[] data, String name) {
        OrtRuntime rt = OrtRuntime.get();
        BytePointer p = new BytePointer(data);
        OrtCheckpointState s = new OrtCheckpointState();
        try {
            rt.check(rt.trainingApi().LoadCheckpointFromBuffer(p, data.length, s), "loading checkpoint " + name);
        } catch (OrtException e) {
            p.close();
            throw new ModelFormatException(
                    name + ": not a valid ONNX Runtime training checkpoint (" + e.getMessage() + ")", e);
        }
        return new CheckpointState(s, name, p);
    }

    /** Saves the state (with optimizer moments when asked) to {@code file}; ORT writes the file directly. */
    public void save(Path file, boolean includeOptimizerState) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(
                rt.trainingApi()
                        .SaveCheckpoint(
                                handle(), new BytePointer(file.toAbsolutePath().toString()), includeOptimizerState),
                "saving checkpoint to " + file);
    }

    /** A copy of the named parameter. */
    public Tensor parameter(String name) {
        OrtRuntime rt = OrtRuntime.get();
        OrtValue v = new OrtValue();
        rt.check(
                rt.trainingApi().GetParameter(handle(), name, rt.allocator(), v),
                "reading parameter " + name + " of " + source);
        return Tensor.adopt(v);
    }

    /** Replaces the named parameter's values (same shape and type). */
    public void updateParameter(String name, Tensor value) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(
                rt.trainingApi().UpdateParameter(handle(), name, value.handle()),
                "updating parameter " + name + " of " + source);
    }

    /** Stores an integer property in the checkpoint's property bag. */
    public void putProperty(String name, long value) {
        OrtRuntime rt = OrtRuntime.get();
        try (LongPointer p = new LongPointer(1)) {
            p.put(value);
            rt.check(rt.trainingApi().AddProperty(handle(), name, OrtIntProperty, p), "adding property " + name);
        }
    }

    /** Stores a float property. */
    public void putProperty(String name, float value) {
        OrtRuntime rt = OrtRuntime.get();
        try (FloatPointer p = new FloatPointer(1)) {
            p.put(value);
            rt.check(rt.trainingApi().AddProperty(handle(), name, OrtFloatProperty, p), "adding property " + name);
        }
    }

    /** Stores a string property. */
    public void putProperty(String name, String value) {
        OrtRuntime rt = OrtRuntime.get();
        try (BytePointer p = new BytePointer(value)) {
            rt.check(rt.trainingApi().AddProperty(handle(), name, OrtStringProperty, p), "adding property " + name);
        }
    }

    /** Reads a property as its Java type (Long, Float or String); throws when absent. */
    public Object property(String name) {
        OrtRuntime rt = OrtRuntime.get();
        IntPointer type = new IntPointer(1);
        Pointer value = new Pointer();
        rt.check(rt.trainingApi().GetProperty(handle(), name, rt.allocator(), type, value), "reading property " + name);
        if (type.get() == OrtIntProperty) {
            Object v = new LongPointer(value).get();
            rt.api().AllocatorFree(rt.allocator(), value);
            return v;
        } else if (type.get() == OrtFloatProperty) {
            Object v = new FloatPointer(value).get();
            rt.api().AllocatorFree(rt.allocator(), value);
            return v;
        }
        return rt.takeString(new BytePointer(value));
    }

    /** Where the state came from. */
    public String source() {
        return source;
    }

    OrtCheckpointState handle() {
        if (closed) {
            throw new IllegalStateException("checkpoint state " + source + " is closed");
        }
        return state;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            OrtRuntime.get().trainingApi().ReleaseCheckpointState(state);
            if (buffer != null) {
                buffer.close();
                buffer = null;
            }
        }
    }
}
