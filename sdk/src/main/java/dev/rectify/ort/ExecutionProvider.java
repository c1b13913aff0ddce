package dev.rectify.ort;

import dev.rectify.core.InvalidArgumentException;

/** Where a session runs: ONNX Runtime's CPU provider, or CUDA on a given device (needs the {@code cuda} build). */
public record ExecutionProvider(Kind kind, int deviceId) {
    /** The execution provider families Rectify can configure. */
    public enum Kind {
        CPU,
        CUDA
    }

    public ExecutionProvider {
        if (deviceId < 0) {
            throw new InvalidArgumentException("deviceId must be >= 0, got " + deviceId);
        }
    }

    /** ONNX Runtime's default CPU provider. */
    public static ExecutionProvider cpu() {
        return new ExecutionProvider(Kind.CPU, 0);
    }

    /** CUDA on device {@code deviceId}; session creation fails with a clear error where CUDA is unavailable. */
    public static ExecutionProvider cuda(int deviceId) {
        return new ExecutionProvider(Kind.CUDA, deviceId);
    }

    /** ORT's name for the provider, as in {@code GetAvailableProviders}. */
    public String ortName() {
        return kind == Kind.CPU ? "CPUExecutionProvider" : "CUDAExecutionProvider";
    }
}
