package dev.rectify.ort;

import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_DISABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_ALL;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_BASIC;
import static org.bytedeco.onnxruntime.global.onnxruntime.ORT_ENABLE_EXTENDED;

/** ONNX Runtime's graph optimisation levels. */
public enum OptimizationLevel {
    DISABLE_ALL(ORT_DISABLE_ALL),
    BASIC(ORT_ENABLE_BASIC),
    EXTENDED(ORT_ENABLE_EXTENDED),
    ALL(ORT_ENABLE_ALL);

    final int ortValue;

    OptimizationLevel(int ortValue) {
        this.ortValue = ortValue;
    }
}
