package dev.rectify.autodiff;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * End to end: a 2-layer Llama-like decoder built from standard ops as exporters write it (RMSNorm as
 * Pow/ReduceMean/Add/Sqrt/Div/Mul, rotary via Mul/Slice/Neg/Concat with cos/sin from integer positions, causal
 * attention with an additive mask from Where, SwiGLU via Sigmoid/Mul, tied embedding Gather + Transpose/MatMul
 * head, log-softmax loss over labels), every weight checked by finite differences.
 */
class LlamaBlockTest {
    static final int V = 7;
    static final int D = 8;
    static final int H = 2;
    static final int HD = D / H;
    static final int S = 3;
    static final int FF = 12;
    static final int LAYERS = 2;

    static Node last(GraphBuilder g) {
        return g.graph().nodes().get(g.graph().nodes().size() - 1);
    }

    static GradCheck model(int opset, DataType type) {
        GradCheck gc = GradCheck.of("Llama").opset(opset).type(type);
        gc.input("embed", x -> 0.5 * x, V, D);
        for (int l = 0; l < LAYERS; l++) {
            gc.input("l" + l + ".norm1", x -> 1 + 0.1 * x, D);
            for (String w : List.of("wq", "wk", "wv", "wo")) {
                gc.input("l" + l + "." + w, x -> 0.3 * x, D, D);
            }
            gc.input("l" + l + ".norm2", x -> 1 + 0.1 * x, D);
            gc.input("l" + l + ".wg", x -> 0.3 * x, D, FF);
            gc.input("l" + l + ".wu", x -> 0.3 * x, D, FF);
            gc.input("l" + l + ".wd", x -> 0.3 * x, FF, D);
        }
        gc.input("norm_f", x -> 1 + 0.1 * x, D);
        return gc.forward((g, t) -> build(g, t, opset, LAYERS));
    }

    static String c(GraphBuilder g, DataType t, String name, double... v) {
        g.initializer(v.length == 1 ? GradCheck.constant(t, name, v) : GradCheck.constant(t, name, v, v.length));
        return name;
    }

    static String ints(GraphBuilder g, String name, long... v) {
        g.initializer(Tensors.ofLongs(name, v, v.length));
        return name;
    }

    static String rmsNorm(GraphBuilder g, DataType t, String x, String w, int opset) {
        String sq = g.op("Pow", x, "two");
        String mean;
        if (opset >= 18) {
            mean = g.op("ReduceMean", sq, "axis_last");
        } else {
            mean = g.op("ReduceMean", sq);
            last(g).attrInts("axes", -1);
        }
        String rs = g.op("Div", "one", g.op("Sqrt", g.op("Add", mean, "eps")));
        return g.op("Mul", w, g.op("Mul", x, rs));
    }

    static String heads(GraphBuilder g, String x) {
        String r = g.op("Reshape", x, "heads_shape");
        String tr = g.op("Transpose", r);
        last(g).attrInts("perm", 0, 2, 1, 3);
        return tr;
    }

    static String rotary(GraphBuilder g, String q) {
        String x1 = g.op("Slice", q, "zero1", "half", "axis_last");
        String x2 = g.op("Slice", q, "half", "big", "axis_last");
        String rot = g.op("Concat", g.op("Neg", x2), x1);
        last(g).attr("axis", -1L);
        return g.op("Add", g.op("Mul", q, "cos"), g.op("Mul", rot, "sin"));
    }

    static String build(GraphBuilder g, DataType t, int opset, int layers) {
        g.initializer(Tensors.ofLongs("ids", new long[] {1, 4, 4}, 1, S));
        g.initializer(Tensors.ofLongs("labels", new long[] {4, 4, 6}, 1, S, 1));
        c(g, t, "two", 2);
        c(g, t, "one", 1);
        c(g, t, "eps", 1e-5);
        c(g, t, "scale", Math.sqrt(HD));
        c(g, t, "zero", 0);
        c(g, t, "neg_big", -1e4);
        ints(g, "axis_last", -1);
        ints(g, "zero1", 0);
        ints(g, "half", HD / 2);
        ints(g, "big", Long.MAX_VALUE);
        ints(g, "heads_shape", 1, S, H, HD);
        ints(g, "merge_shape", 1, S, D);
        // positions from integer arithmetic: pos = Range(0, len); angles = pos * inv_freq; cos/sin [1,1,S,HD]
        String len = g.op("Gather", g.op("Shape", "ids"), g.constant(Tensors.scalar("i1", 1L)));
        String pos = g.op("Range", g.constant(Tensors.scalar("i0", 0L)), len, g.constant(Tensors.scalar("istep", 1L)));
        String posF = g.op("Cast", pos);
        last(g).attr("to", (long) t.getNumber());
        double[] invFreq = new double[HD];
        for (int i = 0; i < HD; i++) {
            invFreq[i] = Math.pow(10000, -2.0 * (i % (HD / 2)) / HD);
        }
        c(g, t, "inv_freq", invFreq);
        ints(g, "ax1", 1);
        String ang = g.op("Mul", g.op("Unsqueeze", posF, "ax1"), "inv_freq");
        c(g, t, "half_pi", Math.PI / 2);
        ints(g, "ax01", 0, 1);
        // ORT's CPU Cos has no double kernel: cos(x) = sin(x + pi/2)
        g.node("Unsqueeze", List.of(g.op("Sin", g.op("Add", ang, "half_pi")), "ax01"), List.of("cos"));
        g.node("Unsqueeze", List.of(g.op("Sin", ang), "ax01"), List.of("sin"));
        // causal mask: keep where col <= row, additive 0 / -1e4 via Where
        String rows = g.op("Unsqueeze", pos, "ax1");
        String causal = g.op("LessOrEqual", pos, rows);
        String maskAdd = g.op("Where", causal, "zero", "neg_big");

        String h = g.op("Gather", "embed", "ids");
        for (int l = 0; l < layers; l++) {
            String p = "l" + l + ".";
            String x = rmsNorm(g, t, h, p + "norm1", opset);
            String q = rotary(g, heads(g, g.op("MatMul", x, p + "wq")));
            String k = rotary(g, heads(g, g.op("MatMul", x, p + "wk")));
            String v = heads(g, g.op("MatMul", x, p + "wv"));
            String kt = g.op("Transpose", k);
            last(g).attrInts("perm", 0, 1, 3, 2);
            String scores = g.op("Add", g.op("Div", g.op("MatMul", q, kt), "scale"), maskAdd);
            String probs = g.op("Softmax", scores);
            last(g).attr("axis", -1L);
            String ctx = g.op("Transpose", g.op("MatMul", probs, v));
            last(g).attrInts("perm", 0, 2, 1, 3);
            String attn = g.op("MatMul", g.op("Reshape", ctx, "merge_shape"), p + "wo");
            h = g.op("Add", h, attn);
            String y = rmsNorm(g, t, h, p + "norm2", opset);
            String gate = g.op("MatMul", y, p + "wg");
            String silu = g.op("Mul", gate, g.op("Sigmoid", gate));
            String mlp = g.op("MatMul", g.op("Mul", silu, g.op("MatMul", y, p + "wu")), p + "wd");
            h = g.op("Add", h, mlp);
        }
        h = rmsNorm(g, t, h, "norm_f", opset);
        String et = g.op("Transpose", "embed");
        last(g).attrInts("perm", 1, 0);
        String logits = g.op("MatMul", h, et);
        String logp = g.op("LogSoftmax", logits);
        last(g).attr("axis", -1L);
        String picked = g.op("GatherElements", logp, "labels");
        last(g).attr("axis", -1L);
        return g.op("Neg", picked);
    }

    @Test
    void doubleOpset17() {
        Graph g = model(17, DataType.DOUBLE).check();
        List<String> offPath = new ArrayList<>();
        for (Node n : g.nodes()) {
            for (String op : List.of("Range", "Shape", "Cast", "Sin", "LessOrEqual", "Where_")) {
                if (n.name().startsWith(op) && n.name().contains("_Grad/")) {
                    offPath.add(n.name());
                }
            }
        }
        assertFalse(!offPath.isEmpty(), "backward nodes for position/mask arithmetic: " + offPath);
    }

    /** Differentiating a deep graph stays fast (names and lookups are not quadratic in the graph size). */
    @Test
    void deepGraphDifferentiatesQuickly() {
        int layers = 64;
        GraphBuilder g = GraphBuilder.create("deep");
        List<String> wrt = new ArrayList<>(List.of("embed", "norm_f"));
        g.input("embed", DataType.FLOAT, V, D);
        g.input("norm_f", DataType.FLOAT, D);
        for (int l = 0; l < layers; l++) {
            for (String w : List.of("norm1", "wq", "wk", "wv", "wo", "norm2", "wg", "wu", "wd")) {
                String n = "l" + l + "." + w;
                Object[] dims = w.startsWith("norm")
                        ? new Object[] {D}
                        : w.equals("wd")
                                ? new Object[] {FF, D}
                                : w.equals("wg") || w.equals("wu") ? new Object[] {D, FF} : new Object[] {D, D};
                g.input(n, DataType.FLOAT, dims);
                wrt.add(n);
            }
        }
        String out = build(g, DataType.FLOAT, 18, layers);
        g.node("ReduceSum", List.of(out), List.of("loss")).attr("keepdims", 0L);
        Graph graph = g.graph();
        int before = graph.nodes().size();
        long t0 = System.nanoTime();
        GradientResult r =
                Autodiff.withDefaultRules().differentiate(graph, 18, GradientRequest.ofScalarLoss("loss", wrt));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Assertions.assertEquals(wrt.size(), r.gradients().size());
        Assertions.assertTrue(ms < 5000, "took " + ms + " ms for " + before + " forward nodes");
        System.out.println("deep graph: " + before + " forward nodes, "
                + (graph.nodes().size() - before) + " backward nodes, " + ms + " ms");
    }

    @Test
    void doubleOpsets14And21() {
        model(14, DataType.DOUBLE).check();
        model(21, DataType.DOUBLE).check();
    }

    @Test
    void floatOpset18WithFusedKernels() {
        model(18, DataType.FLOAT).eps(3e-3).tolerance(3e-2).check();
    }
}
