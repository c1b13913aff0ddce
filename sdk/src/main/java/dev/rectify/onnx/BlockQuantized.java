package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads and checks the layout of ONNX Runtime's 4-bit block-quantized weights ({@code com.microsoft.MatMulNBits},
 * {@code com.microsoft.GatherBlockQuantized}) as GenAI's model builder and ORT's MatMulNBits quantizer write them:
 * the weight W [N, K] is quantized block-wise along K, {@code W[n, k] = (q[n, k] − zp[n, k/bs]) · scale[n, k/bs]},
 * q packed two per byte (low nibble first) in B [N, ceil(K/bs), bs/2]; scales [N, ceil(K/bs)] (or flat); zero
 * points packed uint8 [N, ceil(ceil(K/bs)/2)], or unpacked in the scales' type, or absent (8).
 * Anything else is refused with an {@link UnsupportedQuantizationException} naming the node.
 */
public final class BlockQuantized {
    public static final String MATMUL_NBITS = "MatMulNBits";
    public static final String GATHER_BLOCK_QUANTIZED = "GatherBlockQuantized";
    /** The zero point used when a 4-bit weight has none: 2^(bits − 1). */
    public static final int DEFAULT_ZERO_POINT = 8;

    private BlockQuantized() {}

    /**
     * One MatMulNBits node's weight: Y = A · dequant(B)ᵀ (+ bias).
     *
     * @param zeroPoints the zero-point tensor, "" when absent
     * @param packedZeroPoints whether the zero points are packed uint8 (else unpacked floats)
     */
    public record MatMulNBits(
            String a,
            String b,
            String scales,
            String zeroPoints,
            boolean packedZeroPoints,
            long k,
            long n,
            long blockSize,
            long blocks) {}

    /** Whether {@code node} is com.microsoft.MatMulNBits. */
    public static boolean isMatMulNBits(Node node) {
        return node.opType().equals(MATMUL_NBITS) && node.domain().equals(OnnxModel.MICROSOFT);
    }

    /** Whether {@code node} is com.microsoft.GatherBlockQuantized. */
    public static boolean isGatherBlockQuantized(Node node) {
        return node.opType().equals(GATHER_BLOCK_QUANTIZED) && node.domain().equals(OnnxModel.MICROSOFT);
    }

    /** The layout of a MatMulNBits node, checked against its initializers in {@code graph}. */
    public static MatMulNBits matMulNBits(Graph graph, Node node) {
        long k = Attributes.getInt(node, "K", 0);
        long n = Attributes.getInt(node, "N", 0);
        if (k <= 0 || n <= 0) {
            throw new UnsupportedQuantizationException(
                    node, "attributes K and N must be positive (K=" + k + ", N=" + n + ")");
        }
        long bits = Attributes.getInt(node, "bits", 4);
        if (bits != 4) {
            throw new UnsupportedQuantizationException(node, "bits=" + bits + " (only 4-bit weights are supported)");
        }
        long bs = blockSize(node, Attributes.getInt(node, "block_size", 0));
        if (Attributes.getInt(node, "weight_prepacked", 0) != 0) {
            throw new UnsupportedQuantizationException(node, "B is prepacked for a particular execution provider");
        }
        if (!node.input(4).isEmpty()) {
            throw new UnsupportedQuantizationException(node, "it has a g_idx input (act-order quantization)");
        }
        long blocks = (k + bs - 1) / bs;
        String b = node.input(1);
        Optional<TensorProto> bt = graph.initializer(b);
        if (b.isEmpty() || bt.isEmpty()) {
            throw new UnsupportedQuantizationException(node, "B ('" + b + "') is not a constant initializer");
        }
        if (bt.get().getDataType() != DataType.UINT8_VALUE) {
            throw new UnsupportedQuantizationException(
                    node, "B '" + b + "' is " + DataType.forNumber(bt.get().getDataType()) + ", not packed uint8");
        }
        long[] bd = Tensors.dims(bt.get());
        if (count(bd) != n * blocks * (bs / 2) || bd[0] != n) {
            throw new UnsupportedQuantizationException(
                    node,
                    "B '" + b + "' has shape " + Arrays.toString(bd) + "; K=" + k + ", N=" + n + ", block_size=" + bs
                            + " need [" + n + ", " + blocks + ", " + bs / 2 + "]");
        }
        String scales = node.input(2);
        if (scales.isEmpty()) {
            throw new UnsupportedQuantizationException(node, "it has no scales input");
        }
        Optional<long[]> sd = dims(graph, scales);
        if (sd.isPresent() && count(sd.get()) != n * blocks) {
            throw new UnsupportedQuantizationException(
                    node,
                    "scales '" + scales + "' have " + count(sd.get()) + " values; N x ceil(K/block_size) = "
                            + n * blocks);
        }
        String zp = node.input(3);
        boolean packed = false;
        if (!zp.isEmpty()) {
            int type = type(graph, zp);
            packed = type == DataType.UINT8_VALUE;
            Optional<long[]> zd = dims(graph, zp);
            long expected = packed ? n * ((blocks + 1) / 2) : n * blocks;
            if (zd.isPresent() && count(zd.get()) != expected) {
                throw new UnsupportedQuantizationException(
                        node,
                        "zero points '" + zp + "' have " + count(zd.get()) + " values; expected " + expected
                                + (packed ? " (packed uint8, N x ceil(blocks/2))" : " (N x blocks)"));
            }
        }
        return new MatMulNBits(node.input(0), b, scales, zp, packed, k, n, bs, blocks);
    }

    /** Checks a GatherBlockQuantized node (4-bit uint8/int4/uint4 data, valid block size, scales present). */
    public static void checkGatherBlockQuantized(Graph graph, Node node) {
        String data = node.input(0);
        int type = type(graph, data);
        if (type == DataType.UINT8_VALUE && Attributes.getInt(node, "bits", 4) != 4) {
            throw new UnsupportedQuantizationException(
                    node, "bits=" + Attributes.getInt(node, "bits", 4) + " (only 4-bit weights are supported)");
        }
        if (type != 0 && type != DataType.UINT8_VALUE && type != DataType.INT4_VALUE && type != DataType.UINT4_VALUE) {
            throw new UnsupportedQuantizationException(
                    node,
                    "data '" + data + "' is " + DataType.forNumber(type)
                            + "; 4-bit data (packed uint8, int4 or uint4) is supported");
        }
        blockSize(node, Attributes.getInt(node, "block_size", 128));
        if (node.input(2).isEmpty()) {
            throw new UnsupportedQuantizationException(node, "it has no scales input");
        }
    }

    private static long blockSize(Node node, long bs) {
        if (bs < 16 || Long.bitCount(bs) != 1) {
            throw new UnsupportedQuantizationException(node, "block_size=" + bs + " (must be a power of 2 >= 16)");
        }
        return bs;
    }

    private static long count(long[] dims) {
        long c = 1;
        for (long d : dims) {
            c *= d;
        }
        return c;
    }

    private static Optional<long[]> dims(Graph graph, String t) {
        return graph.initializer(t).map(Tensors::dims);
    }

    private static int type(Graph graph, String t) {
        Optional<TensorProto> i = graph.initializer(t);
        if (i.isPresent()) {
            return i.get().getDataType();
        }
        return graph.input(t)
                .map(v -> v.getType().getTensorType().getElemType())
                .orElse(0);
    }
}
