package dev.rectify.train;

import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * A small Llama-like causal LM built in Java, laid out as torch.onnx.export (opset 17, no constant folding) lays
 * out an HF model: {@code MatMul(x, Transpose(model.layers.0.self_attn.q_proj.weight))}, RMSNorm from standard ops,
 * SiLU MLP, causal + padding attention mask, learned position embeddings (so position_ids is used), untied lm_head.
 * With {@code constantFolded}, projection weights are pre-transposed initializers named {@code onnx::MatMul_N}
 * used directly, as Optimum's constant-folded exports have them.
 */
public final class TinyLlama {
    public static final int VOCAB = 32;
    public static final int HIDDEN = 16;
    public static final int HEADS = 2;
    public static final int HEAD_DIM = HIDDEN / HEADS;
    public static final int INTER = 24;
    public static final int LAYERS = 2;
    public static final int MAX_POS = 64;

    private final GraphBuilder g = GraphBuilder.create("tiny_llama");
    private final Random rnd;
    private final boolean folded;
    private int foldedCount;

    private TinyLlama(long seed, boolean folded) {
        this.rnd = new Random(seed);
        this.folded = folded;
    }

    public static OnnxModel build(long seed, boolean constantFolded) {
        return new TinyLlama(seed, constantFolded).model();
    }

    private float[] randn(int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * std);
        }
        return v;
    }

    private String weight(String name, int rows, int cols, double std) {
        g.initializer(Tensors.ofFloats(name, randn(rows * cols, std), rows, cols));
        return name;
    }

    private String ones(String name, int n) {
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        for (int i = 0; i < n; i++) {
            v[i] += (float) (rnd.nextGaussian() * 0.05);
        }
        g.initializer(Tensors.ofFloats(name, v, n));
        return name;
    }

    private String c(String name, float v) {
        g.initializer(Tensors.scalar(name, v));
        return name;
    }

    private String longs(String name, long... v) {
        g.initializer(Tensors.ofLongs(name, v, v.length));
        return name;
    }

    private String node(String nodeName, String op, List<String> in) {
        String out = nodeName + "_output_0";
        g.node(Node.of(op, in, List.of(out)).name(nodeName));
        return out;
    }

    /** y = x · Wᵀ with W [out, in] named {@code module.weight}, as a Linear exports. */
    private String linear(String x, String module, int in, int out) {
        String path = "/"
                + module.replace(".layers.", "/layers.")
                        .replace(".self_attn.", "/self_attn/")
                        .replace(".mlp.", "/mlp/");
        if (path.startsWith("/lm_head")) {
            path = "/lm_head";
        }
        if (folded) {
            String w = "onnx::MatMul_" + (1000 + foldedCount++);
            weight(w, in, out, 1.0 / Math.sqrt(in));
            return node(path + "/MatMul", "MatMul", List.of(x, w));
        }
        String w = weight(module + ".weight", out, in, 1.0 / Math.sqrt(in));
        String t = node(path + "/Transpose", "Transpose", List.of(w));
        g.graph().nodes().get(g.graph().nodes().size() - 1).attrInts("perm", 1, 0);
        return node(path + "/MatMul", "MatMul", List.of(x, t));
    }

    private String rmsNorm(String x, String path, String weight) {
        String sq = node(path + "/Mul", "Mul", List.of(x, x));
        String mean = node(path + "/ReduceMean", "ReduceMean", List.of(sq));
        g.graph().nodes().get(g.graph().nodes().size() - 1).attrInts("axes", -1).attr("keepdims", 1L);
        String add = node(path + "/Add", "Add", List.of(mean, c(path + ".eps", 1e-6f)));
        String rs = node(path + "/Sqrt", "Sqrt", List.of(add));
        String div = node(path + "/Div", "Div", List.of(x, rs));
        return node(path + "/Mul_1", "Mul", List.of(div, weight));
    }

    private OnnxModel model() {
        g.input("input_ids", DataType.INT64, "batch", "sequence")
                .input("attention_mask", DataType.INT64, "batch", "sequence")
                .input("position_ids", DataType.INT64, "batch", "sequence")
                .output("logits", DataType.FLOAT, "batch", "sequence", VOCAB);
        String emb = node(
                "/model/embed_tokens/Gather",
                "Gather",
                List.of(weight("model.embed_tokens.weight", VOCAB, HIDDEN, 1.0), "input_ids"));
        String pos = node(
                "/model/embed_positions/Gather",
                "Gather",
                List.of(weight("model.embed_positions.weight", MAX_POS, HIDDEN, 0.1), "position_ids"));
        String h = node("/model/Add", "Add", List.of(emb, pos));
        // mask bias [B, 1, S, S]: causal and padding, -1e9 where masked
        String shape = node("/model/Shape", "Shape", List.of("input_ids"));
        String seqLen = node("/model/Gather_seq", "Gather", List.of(shape, longsScalar("/model/idx1", 1)));
        String ss = node("/model/Concat", "Concat", List.of(seqLen, seqLen));
        g.graph().nodes().get(g.graph().nodes().size() - 1).attr("axis", 0L);
        String onesSS = node("/model/ConstantOfShape", "ConstantOfShape", List.of(ss));
        g.graph().nodes().get(g.graph().nodes().size() - 1).attr("value", Tensors.ofFloats("", new float[] {1f}, 1));
        String tri = node("/model/Trilu", "Trilu", List.of(onesSS));
        g.graph().nodes().get(g.graph().nodes().size() - 1).attr("upper", 0L);
        String am = node("/model/Cast", "Cast", List.of("attention_mask"));
        g.graph().nodes().get(g.graph().nodes().size() - 1).attr("to", (long) DataType.FLOAT_VALUE);
        String am4 = node("/model/Unsqueeze", "Unsqueeze", List.of(am, longs("/model/axes12", 1, 2)));
        String allowed = node("/model/Mul_mask", "Mul", List.of(tri, am4));
        String inv = node("/model/Sub", "Sub", List.of(c("/model/one", 1f), allowed));
        String bias = node("/model/Mul_bias", "Mul", List.of(inv, c("/model/neg_big", -1e9f)));
        String split = longs("/model/split_shape", 0, 0, HEADS, HEAD_DIM);
        String merge = longs("/model/merge_shape", 0, 0, HIDDEN);
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l;
            String path = "/model/layers." + l;
            String n1 = rmsNorm(h, path + "/input_layernorm", ones(p + ".input_layernorm.weight", HIDDEN));
            String[] qkv = new String[3];
            String[] names = {"q_proj", "k_proj", "v_proj"};
            for (int i = 0; i < 3; i++) {
                String proj = linear(n1, p + ".self_attn." + names[i], HIDDEN, HIDDEN);
                String r = node(path + "/self_attn/Reshape_" + i, "Reshape", List.of(proj, split));
                qkv[i] = node(path + "/self_attn/Transpose_" + i, "Transpose", List.of(r));
                g.graph().nodes().get(g.graph().nodes().size() - 1).attrInts("perm", 0, 2, 1, 3);
            }
            String kt = node(path + "/self_attn/Transpose_k", "Transpose", List.of(qkv[1]));
            g.graph().nodes().get(g.graph().nodes().size() - 1).attrInts("perm", 0, 1, 3, 2);
            String sc = node(path + "/self_attn/MatMul_qk", "MatMul", List.of(qkv[0], kt));
            String scaled = node(path + "/self_attn/Mul_scale", "Mul", List.of(sc, c(path + ".scale", (float)
                    (1 / Math.sqrt(HEAD_DIM)))));
            String masked = node(path + "/self_attn/Add_mask", "Add", List.of(scaled, bias));
            String prob = node(path + "/self_attn/Softmax", "Softmax", List.of(masked));
            g.graph().nodes().get(g.graph().nodes().size() - 1).attr("axis", -1L);
            String ctx = node(path + "/self_attn/MatMul_pv", "MatMul", List.of(prob, qkv[2]));
            String ctxT = node(path + "/self_attn/Transpose_ctx", "Transpose", List.of(ctx));
            g.graph().nodes().get(g.graph().nodes().size() - 1).attrInts("perm", 0, 2, 1, 3);
            String ctxM = node(path + "/self_attn/Reshape_ctx", "Reshape", List.of(ctxT, merge));
            String o = linear(ctxM, p + ".self_attn.o_proj", HIDDEN, HIDDEN);
            h = node(path + "/Add", "Add", List.of(h, o));
            String n2 = rmsNorm(
                    h, path + "/post_attention_layernorm", ones(p + ".post_attention_layernorm.weight", HIDDEN));
            String gate = linear(n2, p + ".mlp.gate_proj", HIDDEN, INTER);
            String sig = node(path + "/mlp/act_fn/Sigmoid", "Sigmoid", List.of(gate));
            String silu = node(path + "/mlp/act_fn/Mul", "Mul", List.of(gate, sig));
            String up = linear(n2, p + ".mlp.up_proj", HIDDEN, INTER);
            String prod = node(path + "/mlp/Mul", "Mul", List.of(silu, up));
            String down = linear(prod, p + ".mlp.down_proj", INTER, HIDDEN);
            h = node(path + "/Add_1", "Add", List.of(h, down));
        }
        String fin = rmsNorm(h, "/model/norm", ones("model.norm.weight", HIDDEN));
        String logits = linear(fin, "lm_head", HIDDEN, VOCAB);
        g.graph()
                .nodes()
                .add(Node.of("Identity", List.of(logits), List.of("logits")).name("/logits/Identity"));
        return ModelBuilder.create().opset("", 17).graph(g).build();
    }

    private String longsScalar(String name, long v) {
        g.initializer(Tensors.ofLongs(name, new long[] {v}, 1));
        return name;
    }
}
