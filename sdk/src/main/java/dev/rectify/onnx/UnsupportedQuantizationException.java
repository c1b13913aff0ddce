package dev.rectify.onnx;

import dev.rectify.core.ModelFormatException;

/**
 * A block-quantized weight ({@code com.microsoft.MatMulNBits}, {@code GatherBlockQuantized}) whose layout Rectify
 * cannot train on: bits other than 4, a block size that is not a power of two of at least 16, act-order
 * {@code g_idx}, missing or mis-shaped scales, zero points or packed data. The message names the node.
 */
public class UnsupportedQuantizationException extends ModelFormatException {
    private static final long serialVersionUID = 1L;
    private final String nodeName;

    public UnsupportedQuantizationException(Node node, String what) {
        super("unsupported quantized weight at " + node.describe() + ": " + what + ". Rectify trains LoRA over 4-bit "
                + "block-quantized weights as ONNX Runtime's MatMulNBits specification and GenAI's model builder write "
                + "them (bits=4, block_size a power of 2 >= 16, uint8 packed B [N, ceil(K/block_size), block_size/2], "
                + "scales, optional zero points, no g_idx); re-quantize the model in that layout");
        this.nodeName = node.name();
    }

    /** The name of the offending node. */
    public String nodeName() {
        return nodeName;
    }
}
