package dev.rectify.autodiff;

import dev.rectify.canon.Canonicalizer;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks through fused ops after {@link Canonicalizer} lowered them: the lowerings add no
 * gradient rule, so the existing rules of the standard ops they emit must give the fused op's gradient.
 */
class LoweredOpsGradTest {
    @Test
    void skipLayerNormalization() {
        GradCheck.of("SkipLN")
                .input("x", 2, 3, 4)
                .input("skip", 2, 3, 4)
                .input("gamma", 4)
                .forward((g, t) -> {
                    g.node(OnnxModel.MICROSOFT, "SkipLayerNormalization", List.of("x", "skip", "gamma"), List.of("y"))
                            .attr("epsilon", 1e-5f);
                    Canonicalizer.standard().lower(g.graph(), 17);
                    return "y";
                })
                .check();
    }

    @Test
    void causalMultiHeadAttentionWithPastAndRotary() {
        GradCheck.of("MHA")
                .input("q", 1, 3, 8)
                .input("k", 1, 3, 8)
                .input("v", 1, 3, 8)
                .input("pk", 1, 2, 2, 4)
                .forward((g, t) -> {
                    float[] cos = new float[8 * 2];
                    float[] sin = new float[8 * 2];
                    for (int p = 0; p < 8; p++) {
                        for (int i = 0; i < 2; i++) {
                            cos[p * 2 + i] = (float) Math.cos(p / Math.pow(100, i / 2.0));
                            sin[p * 2 + i] = (float) Math.sin(p / Math.pow(100, i / 2.0));
                        }
                    }
                    g.initializer(GradCheck.constant(t, "cos", toDoubles(cos), 8, 2));
                    g.initializer(GradCheck.constant(t, "sin", toDoubles(sin), 8, 2));
                    g.initializer(Tensors.ofLongs("pos", new long[] {2, 3, 4}, 1, 3));
                    g.node(OnnxModel.MICROSOFT, "RotaryEmbedding", List.of("q", "pos", "cos", "sin"), List.of("qr"));
                    g.node(
                                    OnnxModel.MICROSOFT,
                                    "MultiHeadAttention",
                                    List.of("qr", "k", "v", "", "", "", "pk", "pk"),
                                    List.of("y"))
                            .attr("num_heads", 2L)
                            .attr("unidirectional", 1L);
                    Canonicalizer.standard().lower(g.graph(), 17);
                    return "y";
                })
                .check();
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }
}
