package dev.rectify.ort;

import dev.rectify.core.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.onnxruntime.OrtLoraAdapter;

/**
 * An ONNX Runtime LoRA adapter ({@code .onnx_adapter} flatbuffer) in native memory. Its parameters are fed to a
 * session as inputs of the same names when activated through {@link RunOptions#activate}.
 */
public final class LoraAdapter implements AutoCloseable {
    private final OrtLoraAdapter adapter;
    private final String name;
    private final long bytes;
    private boolean closed;

    private LoraAdapter(OrtLoraAdapter adapter, String name, long bytes) {
        this.adapter = adapter;
        this.name = name;
        this.bytes = bytes;
    }

    /** Loads an adapter from its flatbuffer bytes. */
    public static LoraAdapter fromBytes(byte[] data, String name) {
        OrtRuntime rt = OrtRuntime.get();
        OrtLoraAdapter a = new OrtLoraAdapter();
        try (BytePointer p = new BytePointer(data)) {
            rt.check(rt.api().CreateLoraAdapterFromArray(p, data.length, null, a), "loading LoRA adapter " + name);
        } catch (OrtException e) {
            throw new ModelFormatException(
                    name + ": not a valid ONNX Runtime LoRA adapter (" + e.getMessage() + ")", e);
        }
        return new LoraAdapter(a, name, data.length);
    }

    /** Loads an adapter file. */
    public static LoraAdapter fromFile(Path file) {
        try {
            return fromBytes(Files.readAllBytes(file), file.toString());
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot read LoRA adapter: " + e.getMessage(), e);
        }
    }

    /** The name given at load (usually the file). */
    public String name() {
        return name;
    }

    /** Size of the serialized adapter in bytes. */
    public long byteSize() {
        return bytes;
    }

    OrtLoraAdapter handle() {
        if (closed) {
            throw new IllegalStateException("LoRA adapter " + name + " is closed");
        }
        return adapter;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            OrtRuntime.get().api().ReleaseLoraAdapter(adapter);
        }
    }
}
