package dev.rectify.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The bundled rectify-tiny model (a torch.onnx.export of a 6-layer Llama, tied embeddings, GQA, in-graph rotary
 * and masks): every one of its 56 weights differentiates, and the gradient matches central differences of the
 * loss along random directions.
 */
class RealModelTest {
    static final int S = 6;

    @Test
    void tinyLlamaGradientsMatchFiniteDifferences() {
        Path file = Path.of(System.getProperty("rectify.test.model", "../models/rectify-tiny"))
                .resolve("model.onnx");
        assertTrue(Files.exists(file), "no bundled model at " + file + ": it is part of the repository");
        OnnxModel model = OnnxModel.read(file);
        int opset = model.opsetVersion("");
        Graph g = model.graph();
        List<String> weights = new ArrayList<>();
        for (TensorProto t : g.initializers().values()) {
            if (t.getDataType() == DataType.FLOAT_VALUE
                    && Tensors.numElements(t) > 1
                    && t.getName().startsWith("model.")) {
                weights.add(t.getName());
            }
        }
        assertEquals(56, weights.size(), weights.toString());
        // loss = sum(logits * R) for fixed random R
        Random r = new Random(3);
        float[] rw = new float[S * 512];
        for (int i = 0; i < rw.length; i++) {
            rw[i] = (float) r.nextGaussian();
        }
        g.addInitializer(Tensors.ofFloats("loss_r", rw, 1, S, 512));
        g.addNode(Node.of("Mul", List.of("logits", "loss_r"), List.of("loss_prod")));
        g.addNode(Node.of("ReduceSum", List.of("loss_prod"), List.of("loss")).attr("keepdims", 0L));
        g.addOutput(Builders.tensor("loss", DataType.FLOAT));
        byte[] fwd = withGraph(model, g).toBytes();

        Graph gg = Graph.fromProto(g.toProto());
        GradientResult res =
                Autodiff.withDefaultRules().differentiate(gg, opset, GradientRequest.ofScalarLoss("loss", weights));
        for (String w : weights) {
            gg.addOutput(Builders.tensorAnyShape(res.gradients().get(w), DataType.FLOAT));
        }
        byte[] bwd = withGraph(model, gg).toBytes();
        Map<String, float[]> grads = new HashMap<>();
        try (InferenceSession s = InferenceSession.fromBytes(bwd, "tiny_grad", GradCheck.CONFIG);
                Outputs o = run(s, new ArrayList<>(res.gradients().values()))) {
            for (String w : weights) {
                grads.put(w, o.get(res.gradients().get(w)).toFloats());
            }
        }
        // directional derivatives along random directions over groups of weights
        List<List<String>> groups = List.of(
                List.of("model.embed_tokens.weight"),
                List.of(
                        "model.layers.0.self_attn.q_proj.weight",
                        "model.layers.0.self_attn.k_proj.weight",
                        "model.layers.0.input_layernorm.weight"),
                List.of(
                        "model.layers.3.self_attn.v_proj.weight", "model.layers.3.mlp.gate_proj.weight",
                        "model.layers.5.mlp.down_proj.weight", "model.norm.weight"));
        for (List<String> group : groups) {
            Map<String, float[]> dir = new LinkedHashMap<>();
            double analytic = 0;
            for (String w : group) {
                float[] gr = grads.get(w);
                float[] v = new float[gr.length];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) r.nextGaussian();
                    analytic += gr[i] * v[i];
                }
                dir.put(w, v);
            }
            double h = 1e-3;
            double lp = loss(model, g, dir, h);
            double lm = loss(model, g, dir, -h);
            double numeric = (lp - lm) / (2 * h);
            assertTrue(
                    Math.abs(analytic - numeric) <= 2e-2 * Math.abs(numeric) + 1e-2,
                    group + ": analytic " + analytic + " vs numeric " + numeric);
        }
    }

    static OnnxModel withGraph(OnnxModel m, Graph g) {
        ModelProto.Builder b = m.proto().toBuilder().setGraph(g.toProto());
        if (b.getOpsetImportList().stream().noneMatch(o -> o.getDomain().equals(OnnxModel.MICROSOFT))) {
            b.addOpsetImport(OperatorSetIdProto.newBuilder()
                    .setDomain(OnnxModel.MICROSOFT)
                    .setVersion(1));
        }
        return OnnxModel.of(b.build());
    }

    static Outputs run(InferenceSession s, List<String> outs) {
        long[] ids = {1, 17, 42, 99, 5, 300};
        long[] mask = {1, 1, 1, 1, 1, 1};
        long[] pos = {0, 1, 2, 3, 4, 5};
        try (Tensor a = Tensor.ofLongs(ids, 1, S);
                Tensor b = Tensor.ofLongs(mask, 1, S);
                Tensor c = Tensor.ofLongs(pos, 1, S)) {
            return s.run(Map.of("input_ids", a, "attention_mask", b, "position_ids", c), outs);
        }
    }

    static double loss(OnnxModel m, Graph g, Map<String, float[]> dir, double h) {
        Graph p = Graph.fromProto(g.toProto());
        dir.forEach((w, v) -> {
            TensorProto t = p.initializer(w).orElseThrow();
            float[] x = Tensors.toFloatArray(t);
            for (int i = 0; i < x.length; i++) {
                x[i] += (float) (h * v[i]);
            }
            p.putInitializer(Tensors.ofFloats(w, x, Tensors.dims(t)));
        });
        try (InferenceSession s = InferenceSession.fromBytes(withGraph(m, p).toBytes(), "tiny", GradCheck.CONFIG);
                Outputs o = run(s, List.of("loss"))) {
            return o.get("loss").toFloats()[0];
        }
    }
}
