package dev.rectify.train;

import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Locale;

/**
 * The precision the matrix products of the training and eval graphs compute in ({@link MixedPrecision}). Norms,
 * softmax, residual adds, rotary embeddings, the language-model head and the loss stay float32, and so do the
 * trained parameters (master weights), their gradients and the optimizer state.
 */
public enum ComputePrecision {
    /** Everything float32 (the default; the only precision ONNX Runtime's CPU provider has MatMul kernels for). */
    FLOAT32(DataType.FLOAT),
    /** bfloat16 products with float32 accumulation: float32's range, so no loss scaling is needed. CUDA only. */
    BFLOAT16(DataType.BFLOAT16),
    /** float16 products with dynamic loss scaling (its range ends at 65504; see {@link LossScaler}). CUDA only. */
    FLOAT16(DataType.FLOAT16);

    private final DataType type;

    ComputePrecision(DataType type) {
        this.type = type;
    }

    /** The ONNX element type of the products' operands. */
    DataType onnxType() {
        return type;
    }

    /** Whether this is a 16-bit precision. */
    public boolean isHalf() {
        return this != FLOAT32;
    }

    /** "float32", "bfloat16" or "float16". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
