package dev.rectify.canon;

import static dev.rectify.canon.LoweringCheck.check;
import static dev.rectify.canon.LoweringCheck.floats;
import static dev.rectify.canon.LoweringCheck.model;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.BOOL;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.INT32;

import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * com.microsoft MultiHeadAttention, Attention and GroupQueryAttention, and ONNX Attention-23: fused vs lowered,
 * with masks, past key/values, causal masking, kv heads, local windows, softcap and rotary inside.
 */
class AttentionLoweringTest {
    private static final double TOL = 1e-5;
    static final int B = 2;
    static final int S = 3;
    static final int P = 2;
    static final int N = 2;
    static final int H = 4;

    @Test
    void multiHeadAttentionWithBiasMasksAndPast() {
        for (String mask : List.of("none", "2d", "1d")) {
            for (boolean past : List.of(false, true)) {
                for (boolean attnBias : List.of(false, true)) {
                    for (boolean causal : List.of(false, true)) {
                        if (mask.equals("1d") && (past || attnBias)) {
                            continue;
                        }
                        multiHead(mask, past, attnBias, causal);
                    }
                }
            }
        }
    }

    private static void multiHead(String mask, boolean past, boolean attnBias, boolean causal) {
        Random r = new Random(21);
        int t = past ? P + S : S;
        int d = N * H;
        GraphBuilder g = GraphBuilder.create("mha")
                .input("q", FLOAT, B, S, d)
                .input("k", FLOAT, B, S, d)
                .input("v", FLOAT, B, S, d)
                .output("y", FLOAT, B, S, d)
                .initializer(Tensors.ofFloats("bias", LoweringCheck.randn(r, 3 * d, 1), 3 * d));
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        feeds.put("q", floats(r, B, S, d));
        feeds.put("k", floats(r, B, S, d));
        feeds.put("v", floats(r, B, S, d));
        List<String> ins = new ArrayList<>(List.of("q", "k", "v", "bias", "", "", "", ""));
        if (mask.equals("2d")) {
            g.input("mask", INT32, B, t);
            int[] m = new int[B * t];
            Arrays.fill(m, 1);
            m[0] = 0; // left padding in row 0
            m[2 * t - 1] = 0;
            m[2 * t - 2] = 0;
            feeds.put("mask", LoweringCheck.ints(m, B, t));
            ins.set(4, "mask");
        } else if (mask.equals("1d")) {
            g.input("mask", INT32, B);
            feeds.put("mask", LoweringCheck.ints(new int[] {S, S - 1}, B));
            ins.set(4, "mask");
        }
        if (attnBias) {
            g.input("ab", FLOAT, 1, N, S, t);
            feeds.put("ab", floats(r, 1, N, S, t));
            ins.set(5, "ab");
        }
        List<String> outs = new ArrayList<>(List.of("y"));
        if (past) {
            g.input("pk", FLOAT, B, N, P, H)
                    .input("pv", FLOAT, B, N, P, H)
                    .output("presk", FLOAT, B, N, t, H)
                    .output("presv", FLOAT, B, N, t, H);
            feeds.put("pk", floats(r, B, N, P, H));
            feeds.put("pv", floats(r, B, N, P, H));
            ins.set(6, "pk");
            ins.set(7, "pv");
            outs.add("presk");
            outs.add("presv");
        }
        Node n = g.node(OnnxModel.MICROSOFT, "MultiHeadAttention", ins, outs).attr("num_heads", (long) N);
        if (causal) {
            n.attr("unidirectional", 1L);
        }
        try {
            check(model(g, 17), feeds, "MultiHeadAttention", TOL);
        } catch (AssertionError e) {
            throw new AssertionError(
                    "mask " + mask + ", past " + past + ", attention_bias " + attnBias + ", causal " + causal + ": "
                            + e.getMessage(),
                    e);
        }
        LoweringCheck.closeAll(feeds);
    }

    @Test
    void packedAttentionLikeGpt2() {
        for (boolean past : List.of(false, true)) {
            for (boolean mask : List.of(false, true)) {
                for (boolean sizes : List.of(false, true)) {
                    packed(past, mask, sizes, -3.4028234663852886e38f);
                }
            }
        }
        packed(true, true, false, -10000f);
    }

    private static void packed(boolean past, boolean mask, boolean sizes, float filter) {
        Random r = new Random(22);
        int d = N * H;
        int t = past ? P + S : S;
        GraphBuilder g = GraphBuilder.create("attn")
                .input("x", FLOAT, B, S, 6)
                .output("y", FLOAT, B, S, d)
                .initializer(Tensors.ofFloats("W", LoweringCheck.randn(r, 6 * 3 * d, 1), 6, 3 * d))
                .initializer(Tensors.ofFloats("bW", LoweringCheck.randn(r, 3 * d, 1), 3 * d));
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        feeds.put("x", floats(r, B, S, 6));
        List<String> ins = new ArrayList<>(List.of("x", "W", "bW", "", ""));
        List<String> outs = new ArrayList<>(List.of("y"));
        if (mask) {
            g.input("mask", INT32, B, t);
            int[] m = new int[B * t];
            Arrays.fill(m, 1);
            m[0] = 0;
            feeds.put("mask", LoweringCheck.ints(m, B, t));
            ins.set(3, "mask");
        }
        if (past) {
            g.input("past", FLOAT, 2, B, N, P, H).output("present", FLOAT, 2, B, N, t, H);
            feeds.put("past", floats(r, 2, B, N, P, H));
            ins.set(4, "past");
            outs.add("present");
        }
        Node n = g.node(OnnxModel.MICROSOFT, "Attention", ins, outs)
                .attr("num_heads", (long) N)
                .attr("unidirectional", 1L)
                .attr("mask_filter_value", filter);
        if (sizes) {
            n.attrInts("qkv_hidden_sizes", d, d, d);
        }
        check(model(g, 11), feeds, "Attention", TOL);
        LoweringCheck.closeAll(feeds);
    }

    @Test
    void groupQueryAttentionPrompt() {
        for (long window : new long[] {-1, 2}) {
            for (float softcap : new float[] {0f, 2.5f}) {
                for (boolean rotary : List.of(false, true)) {
                    groupQuery(false, window, softcap, rotary, false);
                }
            }
        }
        groupQuery(false, -1, 0, false, true);
    }

    @Test
    void groupQueryAttentionWithPast() {
        groupQuery(true, -1, 0, false, false);
        groupQuery(true, 3, 0, true, false);
    }

    private static void groupQuery(boolean past, long window, float softcap, boolean rotary, boolean packedQkv) {
        Random r = new Random(23);
        final int H = 16; // ORT's CPU GroupQueryAttention needs head_size % 16 == 0
        // and batch 1 when a multi-token chunk follows a past
        final int B = past ? 1 : AttentionLoweringTest.B;
        int heads = 4;
        int kvHeads = 2;
        int s = past ? 2 : 4;
        int pastLen = past ? 3 : 0;
        int total = pastLen + s;
        GraphBuilder g = GraphBuilder.create("gqa")
                .output("y", FLOAT, B, s, heads * H)
                .output("pk_out", FLOAT, B, kvHeads, total, H)
                .output("pv_out", FLOAT, B, kvHeads, total, H)
                .input("seqlens", INT32, B)
                .input("total", INT32);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        List<String> ins = new ArrayList<>();
        if (packedQkv) {
            g.input("qkv", FLOAT, B, s, (heads + 2 * kvHeads) * H);
            feeds.put("qkv", floats(r, B, s, (heads + 2 * kvHeads) * H));
            ins.addAll(List.of("qkv", "", ""));
        } else {
            g.input("q", FLOAT, B, s, heads * H)
                    .input("k", FLOAT, B, s, kvHeads * H)
                    .input("v", FLOAT, B, s, kvHeads * H);
            feeds.put("q", floats(r, B, s, heads * H));
            feeds.put("k", floats(r, B, s, kvHeads * H));
            feeds.put("v", floats(r, B, s, kvHeads * H));
            ins.addAll(List.of("q", "k", "v"));
        }
        if (past) {
            g.input("pk", FLOAT, B, kvHeads, pastLen, H).input("pv", FLOAT, B, kvHeads, pastLen, H);
            feeds.put("pk", floats(r, B, kvHeads, pastLen, H));
            feeds.put("pv", floats(r, B, kvHeads, pastLen, H));
            ins.addAll(List.of("pk", "pv"));
        } else {
            ins.addAll(List.of("", ""));
        }
        ins.addAll(List.of("seqlens", "total"));
        int[] seqlens = new int[B];
        Arrays.fill(seqlens, total - 1);
        feeds.put("seqlens", LoweringCheck.ints(seqlens, B));
        feeds.put("total", LoweringCheck.ints(new int[] {total}));
        if (rotary) {
            g.initializer(RotaryLoweringTest.cache("cos", H / 2, false))
                    .initializer(RotaryLoweringTest.cache("sin", H / 2, true));
            ins.addAll(List.of("cos", "sin"));
        }
        Node n = g.node(OnnxModel.MICROSOFT, "GroupQueryAttention", ins, List.of("y", "pk_out", "pv_out"))
                .attr("num_heads", (long) heads)
                .attr("kv_num_heads", (long) kvHeads)
                .attr("local_window_size", window);
        if (softcap > 0) {
            n.attr("softcap", softcap);
        }
        if (rotary) {
            n.attr("do_rotary", 1L);
        }
        check(model(g, 17), feeds, "GroupQueryAttention", TOL);
        LoweringCheck.closeAll(feeds);
    }

    @Test
    void onnxAttention23() {
        for (boolean threeD : List.of(true, false)) {
            for (String mask : List.of("none", "bool", "float")) {
                for (boolean causal : List.of(false, true)) {
                    for (boolean past : List.of(false, true)) {
                        onnx(threeD, mask, causal, past, 0f);
                    }
                }
            }
        }
        onnx(true, "none", true, false, 1.5f);
    }

    private static void onnx(boolean threeD, String mask, boolean causal, boolean past, float softcap) {
        Random r = new Random(24);
        int qh = 4;
        int kvh = 2;
        int t = past ? P + S : S;
        GraphBuilder g = GraphBuilder.create("attn23");
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        long[] qs = threeD ? new long[] {B, S, qh * H} : new long[] {B, qh, S, H};
        long[] ks = threeD ? new long[] {B, S, kvh * H} : new long[] {B, kvh, S, H};
        g.input("q", FLOAT, (Object[]) RotaryLoweringTest.box(qs))
                .input("k", FLOAT, (Object[]) RotaryLoweringTest.box(ks))
                .input("v", FLOAT, (Object[]) RotaryLoweringTest.box(ks));
        g.output("y", FLOAT, (Object[]) RotaryLoweringTest.box(qs))
                .output("pk_out", FLOAT, B, kvh, t, H)
                .output("pv_out", FLOAT, B, kvh, t, H);
        feeds.put("q", floats(r, qs));
        feeds.put("k", floats(r, ks));
        feeds.put("v", floats(r, ks));
        List<String> ins = new ArrayList<>(List.of("q", "k", "v", "", "", ""));
        if (mask.equals("bool")) {
            g.input("m", BOOL, B, 1, S, t);
            boolean[] m = new boolean[B * S * t];
            for (int i = 0; i < m.length; i++) {
                m[i] = i % t != 0 || i < t; // hide key 0 except for the first query
            }
            feeds.put("m", Tensor.ofBooleans(m, B, 1, S, t));
            ins.set(3, "m");
        } else if (mask.equals("float")) {
            // ORT 1.24's CPU kernel broadcasts the mask's head axis against kv_num_heads only: use 1
            g.input("m", FLOAT, 1, 1, S, t);
            feeds.put("m", floats(r, 1, 1, S, t));
            ins.set(3, "m");
        }
        if (past) {
            g.input("pk", FLOAT, B, kvh, P, H).input("pv", FLOAT, B, kvh, P, H);
            feeds.put("pk", floats(r, B, kvh, P, H));
            feeds.put("pv", floats(r, B, kvh, P, H));
            ins.set(4, "pk");
            ins.set(5, "pv");
        }
        Node n = g.node("Attention", ins, List.of("y", "pk_out", "pv_out")).attr("is_causal", causal ? 1L : 0L);
        if (threeD) {
            n.attr("q_num_heads", (long) qh).attr("kv_num_heads", (long) kvh);
        }
        if (softcap > 0) {
            n.attr("softcap", softcap);
        }
        try {
            check(model(g, 23), feeds, "Attention", TOL);
        } catch (AssertionError e) {
            throw new AssertionError(
                    "3-D " + threeD + ", mask " + mask + ", causal " + causal + ", past " + past + ", softcap "
                            + softcap + ": " + e.getMessage(),
                    e);
        }
        LoweringCheck.closeAll(feeds);
    }
}
