package dev.rectify.ort;

/** Tensor element types Rectify exchanges with ONNX Runtime, with the ONNX {@code TensorProto.DataType} code. */
public enum ElementType {
    FLOAT(1, 4),
    UINT8(2, 1),
    INT8(3, 1),
    INT32(6, 4),
    INT64(7, 8),
    BOOL(9, 1),
    FLOAT16(10, 2),
    DOUBLE(11, 8),
    BFLOAT16(16, 2);

    private final int onnxCode;
    private final int byteSize;

    ElementType(int onnxCode, int byteSize) {
        this.onnxCode = onnxCode;
        this.byteSize = byteSize;
    }

    /** The ONNX data type code (TensorProto.DataType), which is also ORT's ONNXTensorElementDataType. */
    public int onnxCode() {
        return onnxCode;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** The element type for an ONNX data type code, or null when Rectify does not handle it. */
    public static ElementType ofOnnxCode(int code) {
        for (ElementType t : values()) {
            if (t.onnxCode == code) {
                return t;
            }
        }
        return null;
    }
}
