package dev.rectify.train;

import dev.rectify.onnx.BlockQuantized;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The training graph's loss head computed over K blocks of tokens, so that no [tokens, vocabulary] float32 buffer
 * is ever whole. The node producing {@code logits} from the last hidden state h (MatMul, FusedMatMul or 4-bit
 * MatMulNBits with a [H, V] weight) is replaced by K copies over row slices of h [N, H]: block k computes its
 * logits [n_k, V], the {@link ObjectiveHead} math (log-softmax, NLL, DFT/SFT weight) and its dlogits; the scalar
 * sums are added up and loss = Σ weighted NLL / denominator, the same as the whole head up to the order of the
 * float sums. The model is differentiated from each block's logits with its dlogits as seed, so the head
 * projection's backward (dh_k = dz_k·Wᵀ, and dW summed over blocks when W trains) also runs per block.
 * <p>Order: block k+1's slice bounds take a zero computed from the size of dh_k, so ONNX Runtime cannot start
 * block k+1 before block k's dlogits have been consumed; at most one block's vocabulary-sized buffers are alive
 * (when the head weight itself trains, each dz_k also stays until the weight's gradient sums them).
 * Block bounds are computed at run time: block k = rows [floor(k·N/K), floor((k+1)·N/K)), so blocks differ by at
 * most one token; a micro-batch needs at least K tokens (ONNX Runtime's gradient kernels reject empty blocks).
 */
final class ChunkedLossHead {
    /** Produced names: the seeds for differentiation, and per block the slice of h whose gradient orders blocks. */
    record Result(Map<String, String> seeds, List<String> hiddenBlocks, List<Node> slices) {}

    private ChunkedLossHead() {}

    /** The node computing {@code logits} if the head can be chunked (a projection of the last hidden state). */
    static Optional<Node> headProjection(Graph g, String logits, Map<String, long[]> params) {
        Node p = g.producerIndex().get(logits);
        if (p == null || !g.consumers(logits).isEmpty()) {
            return Optional.empty();
        }
        boolean ok = p.isDefaultDomain() && p.opType().equals("MatMul")
                || p.domain().equals(OnnxModel.MICROSOFT)
                        && p.opType().equals("FusedMatMul")
                        && p.attribute("transA").map(a -> a.getI() == 0).orElse(true)
                        && p.attribute("transBatchA").map(a -> a.getI() == 0).orElse(true)
                        && p.attribute("transBatchB").map(a -> a.getI() == 0).orElse(true)
                || BlockQuantized.isMatMulNBits(p);
        if (!ok) {
            return Optional.empty();
        }
        if (!BlockQuantized.isMatMulNBits(p)) {
            Optional<long[]> w = weightDims(g, p.input(1), params);
            if (w.isEmpty() || w.get().length != 2) {
                return Optional.empty();
            }
        }
        return Optional.of(p);
    }

    /** The vocabulary size the head projection produces, or -1 when unknown. */
    static long vocabulary(Graph g, Node p, Map<String, long[]> params) {
        if (BlockQuantized.isMatMulNBits(p)) {
            return p.attribute("N").map(a -> a.getI()).orElse(-1L);
        }
        Node t = g.producerIndex().get(p.input(1));
        boolean transposed = t != null && t.opType().equals("Transpose")
                || p.attribute("transB").map(a -> a.getI() != 0).orElse(false);
        Optional<long[]> d = weightDims(g, p.input(1), params);
        if (d.isEmpty() || d.get().length != 2) {
            return -1;
        }
        return transposed ? d.get()[0] : d.get()[1];
    }

    /** Bytes of one [tokens, vocabulary] float32 buffer below which the head is not chunked by default. */
    static final long AUTO_THRESHOLD = 128L << 20;
    /** The size of one block's [tokens, vocabulary] buffer the automatic choice aims at. */
    static final long AUTO_BLOCK = 64L << 20;

    static final int MAX_CHUNKS = 64;

    /**
     * The default number of blocks: 1 (unchunked) while one [tokens, vocabulary] float32 buffer is under 128 MiB
     * (the whole head then holds well under 1 GiB and one large product is fastest), else enough blocks of at most
     * 64 MiB each (at most 64 blocks). {@code tokens} ≤ 0 (unknown) means unchunked.
     */
    static int autoChunks(long tokens, long vocabulary) {
        if (tokens <= 0 || vocabulary <= 0) {
            return 1;
        }
        long bytes = tokens * vocabulary * 4;
        if (bytes < AUTO_THRESHOLD) {
            return 1;
        }
        return (int) Math.min(MAX_CHUNKS, (bytes + AUTO_BLOCK - 1) / AUTO_BLOCK);
    }

    /** The dims of a frozen (initializer) or trained ({@code params}) 2-D weight, seen through a Transpose. */
    private static Optional<long[]> weightDims(Graph g, String w, Map<String, long[]> params) {
        Node t = g.producerIndex().get(w);
        String name = t != null && t.opType().equals("Transpose") ? t.input(0) : w;
        if (params.containsKey(name)) {
            return Optional.of(params.get(name));
        }
        return g.initializer(name).map(Tensors::dims);
    }

    /**
     * Replaces {@code projection} (which makes {@code logits}) by {@code chunks} blocks with the head of
     * {@code head} on each; adds the head's inputs and the outputs {@code loss, nll_sum, valid_tokens}.
     */
    static Result append(Graph g, ObjectiveHead head, Node projection, String logits, int chunks) {
        head.addInputs(g);
        ObjectiveHead.Ops o = new ObjectiveHead.Ops(g, "/loss/");
        String h = projection.input(0);
        g.removeNode(projection);
        g.outputs().removeIf(v -> v.getName().equals(logits));
        String flat = o.constant(Tensors.ofLongs("", new long[] {-1}, 1));
        String minusOne = o.constant(Tensors.ofLongs("", new long[] {-1, 1}, 2));
        String h2 = o.op("Flatten", List.of(h), "hidden2d").attr("axis", -1L).output(0); // [N, H]
        String y =
                o.op("Reshape", List.of(ObjectiveHead.LABELS, flat), "labels1d").output(0); // [N]
        String tw = head.hasTokenWeights()
                ? o.op("Reshape", List.of(ObjectiveHead.TOKEN_WEIGHTS, flat), "token_weights1d")
                        .output(0)
                : null;
        String shape = o.op("Shape", List.of(h2), "hidden2d_shape").output(0);
        String n = o.op(
                        "Slice",
                        List.of(
                                shape,
                                o.constant(Tensors.ofLongs("", new long[] {0}, 1)),
                                o.constant(Tensors.ofLongs("", new long[] {1}, 1))),
                        "tokens")
                .output(0); // [1]
        String k = o.constant(Tensors.ofLongs("", new long[] {chunks}, 1));
        String axis0 = o.constant(Tensors.ofLongs("", new long[] {0}, 1));
        String denom = ObjectiveHead.denominator(o);
        Map<String, String> seeds = new LinkedHashMap<>();
        List<String> hs = new ArrayList<>();
        List<Node> slices = new ArrayList<>();
        List<String> nll = new ArrayList<>();
        List<String> valid = new ArrayList<>();
        List<String> wsum = new ArrayList<>();
        for (int i = 0; i < chunks; i++) {
            ObjectiveHead.Ops c = new ObjectiveHead.Ops(g, "/loss/chunk" + i + "/");
            String start = bound(c, n, i, k, "start");
            String end = bound(c, n, i + 1, k, "end");
            Node slice = c.op("Slice", List.of(h2, start, end, axis0), "hidden");
            slices.add(slice);
            String hk = slice.output(0);
            String yk = c.op("Slice", List.of(y, start, end, axis0), "labels").output(0);
            yk = c.op("Reshape", List.of(yk, minusOne), "labels2d").output(0);
            String twk = null;
            if (tw != null) {
                twk = c.op("Slice", List.of(tw, start, end, axis0), "token_weights")
                        .output(0);
                twk = c.op("Reshape", List.of(twk, minusOne), "token_weights2d").output(0);
            }
            Node proj = projection.copy();
            proj.inputs().set(0, hk);
            String zk = g.uniqueName("/loss/chunk" + i + "/logits");
            proj.outputs().set(0, zk);
            proj.name(g.uniqueName(
                    projection.name().isEmpty() ? "/loss/chunk" + i + "/head" : projection.name() + "/chunk" + i));
            g.addNode(proj);
            ObjectiveHead.Block b = head.block(c, zk, yk, twk, denom, true, false);
            seeds.put(zk, b.dlogits());
            hs.add(hk);
            nll.add(b.nllSum());
            valid.add(b.validTokens());
            wsum.add(b.weightedNllSum());
        }
        o.named("Sum", nll, ObjectiveHead.NLL_SUM);
        o.named("Sum", valid, ObjectiveHead.VALID_TOKENS);
        String total = o.op("Sum", wsum, "weighted_nll_sum").output(0);
        o.named("Div", List.of(total, denom), ObjectiveHead.LOSS);
        ObjectiveHead.addOutputs(g, false);
        return new Result(seeds, hs, slices);
    }

    /** floor(i·N / K), as a [1] int64 tensor. */
    private static String bound(ObjectiveHead.Ops c, String n, int i, String k, String what) {
        String in = c.op("Mul", List.of(n, c.constant(Tensors.ofLongs("", new long[] {i}, 1))), what + "_times")
                .output(0);
        return c.op("Div", List.of(in, k), what).output(0);
    }

    /**
     * Makes block k+1 wait for dh_k (the gradient of block k's hidden slice): its slice start gets
     * + Cast(Size(dh_k) < 0) = + 0. Called after differentiation with {@code dh} in block order.
     */
    static void order(Graph g, Result r, List<String> dh) {
        for (int i = 1; i < r.slices().size(); i++) {
            if (dh.get(i - 1) == null) {
                continue;
            }
            ObjectiveHead.Ops c = new ObjectiveHead.Ops(g, "/loss/chunk" + i + "/after_previous/");
            String size = c.op("Size", List.of(dh.get(i - 1)), "size").output(0);
            String zeroL = c.constant(Tensors.scalar("", 0L));
            String never = c.op("Less", List.of(size, zeroL), "never").output(0);
            String zero = c.op("Cast", List.of(never), "zero")
                    .attr("to", (long) DataType.INT64_VALUE)
                    .output(0);
            Node slice = r.slices().get(i);
            String start = c.op("Add", List.of(slice.input(1), zero), "start").output(0);
            slice.inputs().set(1, start);
        }
    }
}
