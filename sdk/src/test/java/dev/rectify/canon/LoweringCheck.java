package dev.rectify.canon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rectify.core.HalfFloats;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.OptimizationLevel;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Equivalence checks for lowerings through real ONNX Runtime: runs a model holding fused ops, lowers a copy with
 * {@link Canonicalizer}, runs the copy with graph optimizations off (so ORT cannot fuse it back), and compares every
 * output element: |lowered − fused| ≤ tol·(|fused| + floor·scale), where scale is the output's largest magnitude
 * and floor is 1e-2 unless given.
 * Tensors of type float16 are compared after upcasting.
 */
final class LoweringCheck {
    static final SessionConfig FUSED = SessionConfig.builder().intraOpThreads(1).build();
    static final SessionConfig PLAIN = SessionConfig.builder()
            .intraOpThreads(1)
            .optimization(OptimizationLevel.DISABLE_ALL)
            .build();

    private LoweringCheck() {}

    /** A model of {@code g} at default-domain {@code opset} importing com.microsoft 1. */
    static OnnxModel model(GraphBuilder g, int opset) {
        return ModelBuilder.create()
                .opset("", opset)
                .opset(OnnxModel.MICROSOFT, 1)
                .graph(g)
                .build();
    }

    /** Lowers a copy of {@code m}'s graph and returns the lowered model; asserts no {@code gone} op remains. */
    static OnnxModel lowered(OnnxModel m, String gone) {
        Graph g = m.graph();
        Canonicalizer.Report r = Canonicalizer.standard().lower(g, m.opsetVersion(""));
        assertFalse(r.lowered().isEmpty(), "nothing was lowered");
        for (Node n : g.nodes()) {
            if (n.opType().equals(gone)) {
                fail("op " + gone + " is still in the lowered graph: " + n);
            }
            if (n.domain().equals(OnnxModel.MICROSOFT)) {
                fail("a com.microsoft op remains after lowering: " + n);
            }
        }
        return m.withGraph(g);
    }

    /** Runs {@code m} with {@code feeds} (not closed) and returns every output as floats (upcast). */
    static Map<String, float[]> run(OnnxModel m, Map<String, Tensor> feeds, SessionConfig cfg) {
        Map<String, float[]> out = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        for (ValueInfoProto v : m.graph().outputs()) {
            names.add(v.getName());
        }
        try (InferenceSession s = InferenceSession.fromBytes(m.toBytes(), "check", cfg);
                Outputs o = s.run(feeds, names)) {
            for (String n : names) {
                out.put(n, floats(o.get(n)));
            }
        }
        return out;
    }

    static float[] floats(Tensor t) {
        ByteBuffer b = t.byteView();
        float[] f = new float[(int) t.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = switch (t.type()) {
                case FLOAT -> b.getFloat(4 * i);
                case FLOAT16 -> HalfFloats.halfToFloat(b.getShort(2 * i));
                case DOUBLE -> (float) b.getDouble(8 * i);
                case INT32 -> b.getInt(4 * i);
                case INT64 -> b.getLong(8 * i);
                default -> throw new IllegalArgumentException("cannot compare " + t.type());
            };
        }
        return f;
    }

    /**
     * Runs {@code m} fused and lowered and compares all outputs within {@code tol}; returns the largest relative
     * difference seen.
     */
    static double check(OnnxModel m, Map<String, Tensor> feeds, String gone, double tol) {
        return check(m, feeds, gone, tol, 1e-2);
    }

    /**
     * As {@link #check(OnnxModel, Map, String, double)} with the floor of the denominator at {@code floor}·scale:
     * 1 compares every element against the output's largest magnitude (whole half-precision models, whose
     * near-zero logits carry the rounding of much larger hidden states).
     */
    static double check(OnnxModel m, Map<String, Tensor> feeds, String gone, double tol, double floor) {
        Map<String, float[]> a = run(m, feeds, FUSED);
        Map<String, float[]> b = run(lowered(m, gone), feeds, PLAIN);
        double worst = 0;
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            worst = Math.max(worst, compare(e.getKey(), e.getValue(), b.get(e.getKey()), tol, floor));
        }
        return worst;
    }

    static double compare(String name, float[] fused, float[] low, double tol, double floor) {
        assertEquals(fused.length, low.length, name + ": element count");
        double scale = 0;
        for (float v : fused) {
            scale = Math.max(scale, Math.abs(v));
        }
        double worst = 0;
        StringBuilder bad = new StringBuilder();
        for (int i = 0; i < fused.length; i++) {
            double d = Math.abs(fused[i] - low[i]);
            double denom = Math.abs(fused[i]) + floor * scale + 1e-30;
            worst = Math.max(worst, d / denom);
            if (!(d <= tol * denom) && bad.length() < 400) {
                bad.append(name)
                        .append('[')
                        .append(i)
                        .append("]: fused ")
                        .append(fused[i])
                        .append(" vs lowered ")
                        .append(low[i])
                        .append("; ");
            }
        }
        if (bad.length() > 0) {
            fail(bad + "(tolerance " + tol + ")");
        }
        return worst;
    }

    // ---- feeds ----

    static float[] randn(Random r, int n, double std) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextGaussian() * std);
        }
        return f;
    }

    static int size(long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return (int) n;
    }

    static Tensor floats(Random r, long... shape) {
        return Tensor.ofFloats(randn(r, size(shape), 1.0), shape);
    }

    static Tensor halfs(float[] data, long... shape) {
        Tensor t = Tensor.zeros(ElementType.FLOAT16, shape);
        ByteBuffer b = t.byteView();
        for (int i = 0; i < data.length; i++) {
            b.putShort(2 * i, HalfFloats.floatToHalf(data[i]));
        }
        return t;
    }

    static Tensor ints(int[] data, long... shape) {
        Tensor t = Tensor.zeros(ElementType.INT32, shape);
        ByteBuffer b = t.byteView();
        for (int i = 0; i < data.length; i++) {
            b.putInt(4 * i, data[i]);
        }
        return t;
    }

    static void closeAll(Map<String, Tensor> feeds) {
        feeds.values().forEach(Tensor::close);
    }
}
