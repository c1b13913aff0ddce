package dev.rectify.quant;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A test-side 4-bit block quantizer following ONNX Runtime's MatMulNBits / GatherBlockQuantized specification:
 * every {@code MatMul(x, Transpose(W))} with a float weight W [N, K] becomes
 * {@code com.microsoft.MatMulNBits(x, W_Q4 [N, ceil(K/bs), bs/2] uint8, W_scales [N, blocks][, W_zero_points])}
 * (K, N, bits=4, block_size), named as onnx-community's q4 exports name them ({@code /model/layers.0/...
 * /MatMul_Q4}); a {@code Gather(E, ids)} embedding becomes {@code GatherBlockQuantized}. Asymmetric blocks as
 * ORT's quantizer makes them: range [min(0, v), max(0, v)], scale = range/15, zero point round(−min/scale),
 * q = clamp(round(v/scale) + zp, 0, 15); symmetric: scale = max|v|/7, zero point 8 (the default, not written).
 * Values are packed two per byte, low nibble first. Also returns the same float model with each W replaced by
 * its dequantized values, (q − zp)·scale, the reference a 4-bit base must match.
 */
public final class Int4Quantizer {
    private final int blockSize;
    private final boolean symmetric;
    private final boolean embeddings;

    public Int4Quantizer(int blockSize, boolean symmetric, boolean embeddings) {
        this.blockSize = blockSize;
        this.symmetric = symmetric;
        this.embeddings = embeddings;
    }

    /** The 4-bit model and the dequantized float32 reference. */
    public record Result(OnnxModel int4, OnnxModel dequantized, int matMuls, int gathers) {}

    /** One quantized [N, K] weight. */
    record Quantized(
            long n, long k, long blocks, byte[] packed, float[] scales, byte[] zeroPoints, float[] dequantized) {}

    public Result quantize(OnnxModel model) {
        Graph q = model.graph();
        Graph ref = model.graph();
        Map<String, Quantized> done = new HashMap<>();
        Map<String, Node> producers = q.producerIndex();
        int matMuls = 0;
        int gathers = 0;
        for (Node n : List.copyOf(q.nodes())) {
            if (n.isDefaultDomain() && n.opType().equals("MatMul")) {
                Node t = producers.get(n.input(1));
                if (t == null || !t.opType().equals("Transpose") || !q.isInitializer(t.input(0))) {
                    continue;
                }
                TensorProto w = q.initializer(t.input(0)).orElseThrow();
                if (w.getDataType() != DataType.FLOAT_VALUE || w.getDimsCount() != 2) {
                    continue;
                }
                if (!embeddings
                        && q.consumers(w.getName()).stream()
                                .anyMatch(c -> c.opType().equals("Gather"))) {
                    continue; // a tied head stays float with its float embedding
                }
                Quantized z = done.computeIfAbsent(w.getName(), k -> quantize(w));
                String base = w.getName().equals("model.embed_tokens.weight") ? "lm_head.weight" : w.getName();
                String bName = base + "_Q4";
                if (q.initializer(bName).isEmpty()) {
                    q.addInitializer(
                            Tensors.ofRaw(bName, DataType.UINT8, z.packed(), z.n(), z.blocks(), blockSize / 2));
                    q.addInitializer(Tensors.ofFloats(base + "_scales", z.scales(), z.n(), z.blocks()));
                    if (!symmetric) {
                        q.addInitializer(Tensors.ofRaw(
                                base + "_zero_points", DataType.UINT8, z.zeroPoints(), z.n(), (z.blocks() + 1) / 2));
                    }
                }
                List<String> in = symmetric
                        ? List.of(n.input(0), bName, base + "_scales")
                        : List.of(n.input(0), bName, base + "_scales", base + "_zero_points");
                String name = (n.name().startsWith("/layers") ? "/model" : "") + n.name() + "_Q4";
                Node nb = Node.of("MatMulNBits", in, List.of(n.output(0)))
                        .domain(OnnxModel.MICROSOFT)
                        .name(name)
                        .attr("K", z.k())
                        .attr("N", z.n())
                        .attr("bits", 4L)
                        .attr("block_size", (long) blockSize);
                q.replaceNode(n, nb);
                if (q.consumers(t.output(0)).isEmpty()) {
                    q.removeNode(t);
                }
                matMuls++;
            } else if (embeddings
                    && n.isDefaultDomain()
                    && n.opType().equals("Gather")
                    && q.isInitializer(n.input(0))
                    && Attributes.getInt(n, "axis", 0) == 0) {
                TensorProto e = q.initializer(n.input(0)).orElseThrow();
                if (e.getDataType() != DataType.FLOAT_VALUE || e.getDimsCount() != 2 || e.getDims(1) % blockSize != 0) {
                    continue;
                }
                Quantized z = done.computeIfAbsent(e.getName(), k -> quantize(e));
                String base = e.getName() + "_embed";
                q.addInitializer(Tensors.ofRaw(base + "_Q4", DataType.UINT8, z.packed(), z.n(), z.k() / 2));
                q.addInitializer(Tensors.ofFloats(base + "_scales", z.scales(), z.n(), z.blocks()));
                List<String> in = List.of(base + "_Q4", n.input(1), base + "_scales");
                if (!symmetric) {
                    q.addInitializer(Tensors.ofRaw(
                            base + "_zero_points", DataType.UINT8, z.zeroPoints(), z.n(), (z.blocks() + 1) / 2));
                    in = List.of(base + "_Q4", n.input(1), base + "_scales", base + "_zero_points");
                }
                q.replaceNode(
                        n,
                        Node.of("GatherBlockQuantized", in, List.of(n.output(0)))
                                .domain(OnnxModel.MICROSOFT)
                                .name(n.name() + "_Q4")
                                .attr("bits", 4L)
                                .attr("block_size", (long) blockSize)
                                .attr("gather_axis", 0L)
                                .attr("quantize_axis", 1L));
                gathers++;
            }
        }
        for (String w : done.keySet()) {
            if (q.consumers(w).isEmpty()) {
                q.removeInitializer(w);
            }
            TensorProto t = ref.initializer(w).orElseThrow();
            ref.putInitializer(Tensors.ofFloats(w, done.get(w).dequantized(), Tensors.dims(t)));
        }
        return new Result(withMicrosoft(model.withGraph(q)), model.withGraph(ref), matMuls, gathers);
    }

    private static OnnxModel withMicrosoft(OnnxModel m) {
        if (m.proto().getOpsetImportList().stream().anyMatch(o -> o.getDomain().equals(OnnxModel.MICROSOFT))) {
            return m;
        }
        return OnnxModel.of(m.proto().toBuilder()
                .addOpsetImport(Builders.opset(OnnxModel.MICROSOFT, 1))
                .build());
    }

    /** Quantizes W [N, K] (rows are output features) block-wise along K. */
    Quantized quantize(TensorProto w) {
        long[] d = Tensors.dims(w);
        int n = (int) d[0];
        int k = (int) d[1];
        float[] v = Tensors.toFloatArray(w);
        int blocks = (k + blockSize - 1) / blockSize;
        byte[] packed = new byte[n * blocks * blockSize / 2];
        float[] scales = new float[n * blocks];
        int zpRow = (blocks + 1) / 2;
        byte[] zps = new byte[n * zpRow];
        float[] deq = new float[n * k];
        int[] qv = new int[blockSize];
        for (int r = 0; r < n; r++) {
            for (int b = 0; b < blocks; b++) {
                int from = b * blockSize;
                int to = Math.min(k, from + blockSize);
                float lo = 0;
                float hi = 0;
                float amax = 0;
                for (int i = from; i < to; i++) {
                    float x = v[r * k + i];
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                    amax = Math.max(amax, Math.abs(x));
                }
                float scale;
                int zp;
                if (symmetric) {
                    scale = amax == 0 ? 1f : amax / 7f;
                    zp = 8;
                } else {
                    scale = hi == lo ? 1f : (hi - lo) / 15f;
                    zp = Math.max(0, Math.min(15, Math.round(-lo / scale)));
                }
                scales[r * blocks + b] = scale;
                int zb = r * zpRow + b / 2;
                zps[zb] = (byte) ((zps[zb] & 0xff) | (b % 2 == 0 ? zp : zp << 4));
                for (int j = 0; j < blockSize; j++) {
                    int i = from + j;
                    qv[j] = i < to ? Math.max(0, Math.min(15, Math.round(v[r * k + i] / scale) + zp)) : zp;
                    if (i < to) {
                        deq[r * k + i] = (float) (qv[j] - zp) * scale;
                    }
                }
                int at = (r * blocks + b) * blockSize / 2;
                for (int j = 0; j < blockSize / 2; j++) {
                    packed[at + j] = (byte) (qv[2 * j] | qv[2 * j + 1] << 4);
                }
            }
        }
        return new Quantized(n, k, blocks, packed, scales, zps, deq);
    }
}
