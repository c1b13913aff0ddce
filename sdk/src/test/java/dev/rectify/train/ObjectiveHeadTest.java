package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.Objective;
import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The hand-written head against a double-precision Java reference, run in plain ORT inference. */
class ObjectiveHeadTest {
    static final int B = 3;
    static final int S = 5;
    static final int V = 11;
    static final float DENOM = 9f;

    static final float[] LOGITS = new float[B * S * V];
    static final long[] LABELS = new long[B * S];

    static {
        Random r = new Random(42);
        for (int i = 0; i < LOGITS.length; i++) {
            LOGITS[i] = (float) (r.nextGaussian() * 3);
        }
        for (int i = 0; i < LABELS.length; i++) {
            LABELS[i] = r.nextInt(4) == 0 ? -100 : r.nextInt(V);
        }
        LABELS[0] = -100;
    }

    /** Double-precision reference: loss, nll_sum, valid, correct, dlogits. */
    record Ref(double loss, double nll, double valid, double correct, double[] dlogits, double[] pt) {}

    static Ref reference(Objective obj, float[] logits, long[] labels, float denom, double[] extraWeights) {
        int n = labels.length;
        double loss = 0;
        double nll = 0;
        double valid = 0;
        double correct = 0;
        double d = Math.max(denom, 1);
        double[] dl = new double[n * V];
        double[] pts = new double[n];
        for (int t = 0; t < n; t++) {
            double max = Double.NEGATIVE_INFINITY;
            int arg = 0;
            for (int c = 0; c < V; c++) {
                if (logits[t * V + c] > max) {
                    max = logits[t * V + c];
                    arg = c;
                }
            }
            double sum = 0;
            for (int c = 0; c < V; c++) {
                sum += Math.exp(logits[t * V + c] - max);
            }
            double lse = max + Math.log(sum);
            if (labels[t] == -100) {
                continue;
            }
            int y = (int) labels[t];
            double lp = logits[t * V + y] - lse;
            double p = Math.exp(lp);
            pts[t] = p;
            double w = obj.weight(p) * (extraWeights == null ? 1 : extraWeights[t]);
            loss += w * -lp;
            nll += -lp;
            valid++;
            correct += arg == y ? 1 : 0;
            for (int c = 0; c < V; c++) {
                double sm = Math.exp(logits[t * V + c] - lse);
                dl[t * V + c] = w * (sm - (c == y ? 1 : 0)) / d;
            }
        }
        return new Ref(loss / d, nll, valid, correct, dl, pts);
    }

    static InferenceSession session(ObjectiveHead head) {
        GraphBuilder g = GraphBuilder.create("head").input("logits", DataType.FLOAT, "batch", "sequence", V);
        Graph graph = g.graph();
        ObjectiveHead.Result r = head.append(graph, "logits", true, true);
        graph.addNode(Node.of("Identity", List.of(r.dlogits()), List.of("dlogits_out"))
                .name("id_dl"));
        graph.addOutput(Builders.tensor("dlogits_out", DataType.FLOAT, "batch", "sequence", V));
        OnnxModel m = ModelBuilder.create().opset("", 17).graph(graph).build();
        return InferenceSession.fromBytes(m.toBytes(), "head", SessionConfig.defaults());
    }

    static Map<String, float[]> run(ObjectiveHead head, float[] tokenWeights) {
        try (InferenceSession s = session(head);
                Tensor lg = Tensor.ofFloats(LOGITS, B, S, V);
                Tensor lb = Tensor.ofLongs(LABELS, B, S);
                Tensor dn = Tensor.ofFloats(new float[] {DENOM}, 1);
                Tensor tw = tokenWeights == null ? null : Tensor.ofFloats(tokenWeights, B, S)) {
            Map<String, Tensor> feeds = new HashMap<>(Map.of("logits", lg, "labels", lb, "loss_denominator", dn));
            if (tw != null) {
                feeds.put("token_weights", tw);
            }
            List<String> names = List.of("loss", "nll_sum", "valid_tokens", "correct_tokens", "dlogits_out");
            try (Outputs o = s.run(feeds, names)) {
                Map<String, float[]> out = new HashMap<>();
                for (String n : names) {
                    out.put(n, o.get(n).toFloats());
                }
                assertEquals(0, o.get("loss").shape().length, "loss is a scalar");
                return out;
            }
        }
    }

    @Test
    void lossAndGradientMatchDoubleReferenceForEveryObjective() {
        for (Objective obj : List.of(Objective.SFT, Objective.DFT, Objective.dftClamped(0.3), Objective.mix(0.25))) {
            Map<String, float[]> got = run(ObjectiveHead.of(obj), null);
            Ref ref = reference(obj, LOGITS, LABELS, DENOM, null);
            assertEquals(ref.loss(), got.get("loss")[0], 1e-6 * Math.max(1, Math.abs(ref.loss())), obj + " loss");
            assertEquals(ref.nll(), got.get("nll_sum")[0], 1e-5 * Math.max(1, ref.nll()), obj + " nll_sum");
            assertEquals(ref.valid(), got.get("valid_tokens")[0], 0, obj + " valid");
            assertEquals(ref.correct(), got.get("correct_tokens")[0], 0, obj + " correct");
            float[] dl = got.get("dlogits_out");
            double maxErr = 0;
            for (int i = 0; i < dl.length; i++) {
                maxErr = Math.max(maxErr, Math.abs(dl[i] - ref.dlogits()[i]));
            }
            assertTrue(maxErr < 1e-7, obj + " dlogits max error " + maxErr);
        }
    }

    @Test
    void dftGradientEqualsSftGradientWithOutsideTokenWeights() {
        Ref ref = reference(Objective.DFT, LOGITS, LABELS, DENOM, null);
        float[] tw = new float[LABELS.length];
        for (int i = 0; i < tw.length; i++) {
            tw[i] = (float) ref.pt()[i];
        }
        Map<String, float[]> dft = run(ObjectiveHead.of(Objective.DFT), null);
        Map<String, float[]> sftW = run(ObjectiveHead.of(Objective.SFT).withTokenWeightsInput(), tw);
        assertEquals(dft.get("loss")[0], sftW.get("loss")[0], 1e-6);
        float[] a = dft.get("dlogits_out");
        float[] b = sftW.get("dlogits_out");
        double maxErr = 0;
        for (int i = 0; i < a.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
        }
        assertTrue(maxErr < 1e-8, "max |Δ dlogits| " + maxErr);
    }

    @Test
    void allIgnoredGivesZeroLossNotNaN() {
        long[] saved = LABELS.clone();
        try {
            Arrays.fill(LABELS, -100);
            Map<String, float[]> got = run(ObjectiveHead.of(Objective.DFT), null);
            assertEquals(0f, got.get("loss")[0], 0f);
            assertEquals(0f, got.get("valid_tokens")[0], 0f);
            for (float v : got.get("dlogits_out")) {
                assertEquals(0f, v, 0f);
            }
        } finally {
            System.arraycopy(saved, 0, LABELS, 0, saved.length);
        }
    }
}
