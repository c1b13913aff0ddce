package dev.rectify.ort;

import java.nio.file.Path;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.onnxruntime.OrtSession;

/**
 * Test helper: writes the graph ONNX Runtime's session optimizer makes of a model (what users get from
 * {@code SessionOptions.optimized_model_filepath}), with fused {@code com.microsoft} ops.
 */
public final class SessionOptimizerExport {
    private SessionOptimizerExport() {}

    /** Optimizes {@code in} on the CPU at {@code level} and writes the result to {@code out}. */
    public static void write(Path in, Path out, OptimizationLevel level) {
        OrtRuntime rt = OrtRuntime.get();
        SessionConfig config =
                SessionConfig.builder().intraOpThreads(1).optimization(level).build();
        try (NativeSessionOptions opts = config.createNative();
                BytePointer target = new BytePointer(out.toAbsolutePath().toString());
                BytePointer source = new BytePointer(in.toAbsolutePath().toString())) {
            rt.check(rt.api().SetOptimizedModelFilePath(opts.handle(), target), "setting the optimized model path");
            OrtSession s = new OrtSession();
            rt.check(rt.api().CreateSession(rt.env(), source, opts.handle(), s), "optimizing " + in);
            rt.api().ReleaseSession(s);
        }
    }
}
