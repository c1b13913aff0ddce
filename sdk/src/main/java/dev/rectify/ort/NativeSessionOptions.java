package dev.rectify.ort;

import org.bytedeco.onnxruntime.OrtSessionOptions;

/** Owns a native {@code OrtSessionOptions} for the time it takes to create a session. */
final class NativeSessionOptions implements AutoCloseable {
    private final OrtSessionOptions options;
    private boolean closed;

    NativeSessionOptions(OrtSessionOptions options) {
        this.options = options;
    }

    OrtSessionOptions handle() {
        return options;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            OrtRuntime.get().api().ReleaseSessionOptions(options);
        }
    }
}
