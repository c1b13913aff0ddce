package dev.rectify.canon;

import static dev.rectify.canon.LoweringCheck.floats;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.BOOL;
import static dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType.FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Opset 11/12 → 13: each op whose signature changed gives the same outputs in ONNX Runtime before (at the old opset)
 * and after the upgrade (at 13), no attribute form that 13 dropped remains, and ops with no equivalent at 13 are typed
 * errors naming the op. The wild GPT-2 (ONNX Runtime transformers optimizer, opset 11, float16), upgraded and lowered
 * as its training graph is, gives the original graph's logits and cache within float16 precision.
 */
class OpsetUpgradeTest {
    private static final double TOL = 1e-6;

    private static OnnxModel model(GraphBuilder g, int opset) {
        return ModelBuilder.create().irVersion(6).opset("", opset).graph(g).build();
    }

    /** Runs {@code m} and its upgrade on {@code feeds}; asserts equal outputs; returns the upgraded model. */
    private static OnnxModel assertSameOutputs(OnnxModel m, Map<String, Tensor> feeds) {
        OnnxModel up = OpsetUpgrade.upgrade(m);
        assertEquals(OpsetUpgrade.TARGET, up.opsetVersion(""), "upgraded opset");
        assertTrue(up.irVersion() >= 7, "IR version 7 or later for opset 13");
        Map<String, float[]> before = LoweringCheck.run(m, feeds, LoweringCheck.PLAIN);
        Map<String, float[]> after = LoweringCheck.run(up, feeds, LoweringCheck.PLAIN);
        assertEquals(before.keySet(), after.keySet());
        before.forEach((k, v) -> LoweringCheck.compare(k, v, after.get(k), TOL, 1e-2));
        LoweringCheck.closeAll(feeds);
        return up;
    }

    private static Map<String, Tensor> feed(Random r, long... shape) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("x", floats(r, shape));
        return m;
    }

    /** A one-node model {@code x → op → y} at {@code opset} with {@code attrs} set on the node. */
    private static OnnxModel single(String op, int opset, long[] in, Object[] out, Consumer<Node> attrs) {
        GraphBuilder g = GraphBuilder.create(op).input("x", FLOAT, box(in)).output("y", FLOAT, out);
        attrs.accept(g.node(op, List.of("x"), List.of("y")));
        return model(g, opset);
    }

    private static Object[] box(long[] d) {
        Object[] o = new Object[d.length];
        for (int i = 0; i < d.length; i++) {
            o[i] = d[i];
        }
        return o;
    }

    private static List<Node> nodes(OnnxModel m, String op) {
        return m.graph().nodes().stream().filter(n -> n.opType().equals(op)).toList();
    }

    @Test
    void squeezeUnsqueezeAndReduceSumTakeTheirAxesAsInputs() {
        Random r = new Random(1);
        for (int opset : new int[] {11, 12}) {
            OnnxModel up = assertSameOutputs(
                    single(
                            "Unsqueeze",
                            opset,
                            new long[] {2, 3},
                            new Object[] {1, 2, 3, 1},
                            n -> n.attrInts("axes", 0, -1)),
                    feed(r, 2, 3));
            Node u = nodes(up, "Unsqueeze").get(0);
            assertFalse(u.hasAttribute("axes"), "axes attribute removed");
            assertEquals(2, u.inputs().size(), "axes input added");
            up = assertSameOutputs(
                    single(
                            "Squeeze",
                            opset,
                            new long[] {2, 1, 3, 1},
                            new Object[] {2, 3, 1},
                            n -> n.attrInts("axes", 1)),
                    feed(r, 2, 1, 3, 1));
            assertFalse(nodes(up, "Squeeze").get(0).hasAttribute("axes"));
            // Squeeze without axes removes every 1: unchanged
            assertSameOutputs(
                    single("Squeeze", opset, new long[] {2, 1, 3, 1}, new Object[] {2, 3}, n -> {}),
                    feed(r, 2, 1, 3, 1));
            for (long keep : new long[] {0, 1}) {
                up = assertSameOutputs(
                        single(
                                "ReduceSum",
                                opset,
                                new long[] {2, 3, 4},
                                keep == 1 ? new Object[] {2, 1, 4} : new Object[] {2, 4},
                                n -> n.attrInts("axes", 1).attr("keepdims", keep)),
                        feed(r, 2, 3, 4));
                assertFalse(nodes(up, "ReduceSum").get(0).hasAttribute("axes"));
            }
            // ReduceSum without axes reduces everything, before and after
            assertSameOutputs(
                    single("ReduceSum", opset, new long[] {2, 3}, new Object[] {1, 1}, n -> {}), feed(r, 2, 3));
        }
    }

    @Test
    void splitTakesItsSizesAsAnInput() {
        Random r = new Random(2);
        GraphBuilder g = GraphBuilder.create("split")
                .input("x", FLOAT, 2, 7)
                .output("a", FLOAT, 2, 2)
                .output("b", FLOAT, 2, 5);
        g.node("Split", List.of("x"), List.of("a", "b")).attr("axis", 1L).attrInts("split", 2, 5);
        OnnxModel up = assertSameOutputs(model(g, 11), feed(r, 2, 7));
        Node s = nodes(up, "Split").get(0);
        assertFalse(s.hasAttribute("split"));
        assertEquals(2, s.inputs().size());
        // equal parts: no sizes, unchanged
        GraphBuilder eq = GraphBuilder.create("split")
                .input("x", FLOAT, 2, 6)
                .output("a", FLOAT, 2, 3)
                .output("b", FLOAT, 2, 3);
        eq.node("Split", List.of("x"), List.of("a", "b")).attr("axis", 1L);
        assertSameOutputs(model(eq, 12), feed(r, 2, 6));
    }

    @Test
    void softmaxFamilyKeepsTheCoercedTwoDimensionalMeaning() {
        Random r = new Random(3);
        for (String op : List.of("Softmax", "LogSoftmax", "Hardmax")) {
            // along the last axis: old and new meanings agree, the node stays
            OnnxModel up = assertSameOutputs(
                    single(op, 11, new long[] {2, 3, 5}, new Object[] {2, 3, 5}, n -> n.attr("axis", 2L)),
                    feed(r, 2, 3, 5));
            assertEquals(1, up.graph().nodes().size(), op + " along the last axis stays one node");
            // the old default axis 1 on rank 3 normalizes over the last two dims together
            up = assertSameOutputs(
                    single(op, 11, new long[] {2, 3, 5}, new Object[] {2, 3, 5}, n -> {}), feed(r, 2, 3, 5));
            assertEquals(1, nodes(up, "Flatten").size(), op + " along a middle axis is flattened");
            // axis 0 (everything one row) and a negative axis
            assertSameOutputs(
                    single(op, 12, new long[] {2, 3, 5}, new Object[] {2, 3, 5}, n -> n.attr("axis", 0L)),
                    feed(r, 2, 3, 5));
            assertSameOutputs(
                    single(op, 12, new long[] {2, 3, 5}, new Object[] {2, 3, 5}, n -> n.attr("axis", -2L)),
                    feed(r, 2, 3, 5));
        }
        // the old default on rank 2 is the last axis
        OnnxModel up = assertSameOutputs(
                single("Softmax", 11, new long[] {4, 6}, new Object[] {4, 6}, n -> {}), feed(r, 4, 6));
        assertEquals(
                -1L, up.graph().nodes().get(0).attribute("axis").orElseThrow().getI());
    }

    @Test
    void dropoutRatioBecomesAnInput() {
        Random r = new Random(4);
        OnnxModel up = assertSameOutputs(
                single("Dropout", 11, new long[] {3, 4}, new Object[] {3, 4}, n -> n.attr("ratio", 0.25f)),
                feed(r, 3, 4));
        Node d = nodes(up, "Dropout").get(0);
        assertFalse(d.hasAttribute("ratio"));
        assertEquals(2, d.inputs().size());
    }

    @Test
    void subgraphsAreUpgradedToo() {
        Random r = new Random(5);
        GraphBuilder then = GraphBuilder.create("then").output("t", FLOAT, "a", "b", "c");
        then.node("Unsqueeze", List.of("x"), List.of("t")).attrInts("axes", 0);
        GraphBuilder other = GraphBuilder.create("else").output("e", FLOAT, "a", "b", "c");
        other.node("Unsqueeze", List.of("x"), List.of("e")).attrInts("axes", 2);
        GraphBuilder g = GraphBuilder.create("if")
                .input("x", FLOAT, 2, 3)
                .input("c", BOOL)
                .output("y", FLOAT, "a", "b", "c");
        g.node("If", List.of("c"), List.of("y"))
                .attr("then_branch", then.build())
                .attr("else_branch", other.build());
        for (boolean c : new boolean[] {true, false}) {
            Map<String, Tensor> feeds = feed(r, 2, 3);
            feeds.put("c", Tensor.ofBooleans(new boolean[] {c}));
            OnnxModel up = assertSameOutputs(model(g, 11), feeds);
            Node branch = Graph.fromProto(nodes(up, "If").get(0).subgraphs().get(0)).nodes().stream()
                    .filter(n -> n.opType().equals("Unsqueeze"))
                    .findFirst()
                    .orElseThrow();
            assertFalse(branch.hasAttribute("axes"), "the branch's Unsqueeze is upgraded");
        }
    }

    @Test
    void opsWithNoEquivalentAtThirteenAreTypedErrorsNamingTheOp() {
        GraphBuilder g = GraphBuilder.create("resize")
                .input("x", FLOAT, 1, 1, 2, 2)
                .output("y", FLOAT, 1, 1, 4, 4)
                .initializer(Tensors.ofFloats("roi", new float[0], 0))
                .initializer(Tensors.ofFloats("scales", new float[] {1, 1, 2, 2}, 4));
        g.node("Resize", List.of("x", "roi", "scales"), List.of("y"))
                .name("up1")
                .attr("coordinate_transformation_mode", "tf_half_pixel_for_nn")
                .attr("mode", "nearest");
        OpsetUpgradeException e = assertThrows(OpsetUpgradeException.class, () -> OpsetUpgrade.upgrade(model(g, 11)));
        assertEquals("Resize", e.opType());
        assertEquals("up1", e.nodeName());
        assertTrue(e.getMessage().contains("tf_half_pixel_for_nn"), e.getMessage());

        GraphBuilder u = GraphBuilder.create("upsample")
                .input("x", FLOAT, 1, 1, 2, 2)
                .output("y", FLOAT, 1, 1, 4, 4)
                .initializer(Tensors.ofFloats("scales", new float[] {1, 1, 2, 2}, 4));
        u.node("Upsample", List.of("x", "scales"), List.of("y"));
        e = assertThrows(OpsetUpgradeException.class, () -> OpsetUpgrade.upgrade(model(u, 12)));
        assertEquals("Upsample", e.opType());
        assertEquals(12, e.fromOpset());

        OnnxModel old = single("Relu", 10, new long[] {2}, new Object[] {2}, n -> {});
        e = assertThrows(OpsetUpgradeException.class, () -> OpsetUpgrade.upgrade(old));
        assertEquals(10, e.fromOpset());
        assertTrue(e.getMessage().contains("Re-export"), e.getMessage());
    }

    @Test
    void modelsAtThirteenOrLaterAreLeftAsTheyAre() {
        OnnxModel m = single("Softmax", 13, new long[] {2, 3}, new Object[] {2, 3}, n -> n.attr("axis", 0L));
        assertSame(m, OpsetUpgrade.upgrade(m));
        Graph g = m.graph();
        OpsetUpgrade.Report r = OpsetUpgrade.upgrade(g, 13);
        assertEquals(0, r.total());
        assertEquals(13, r.to());
    }

    @Test
    void wildGpt2TrainingGraphAtOpsetThirteenGivesTheOriginalLogits() {
        OnnxModel m = OnnxModel.read(WildModelLoweringTest.wild("gpt2-ort-fp16", "past.onnx"));
        assertEquals(11, m.opsetVersion(""), "the wild GPT-2 is an opset-11 export");
        OnnxModel up = OpsetUpgrade.upgrade(m);
        Graph g = up.graph();
        Canonicalizer.Report lowered = Canonicalizer.standard().lower(g, up.opsetVersion(""));
        assertTrue(lowered.total() > 0);
        for (Node n : g.nodes()) {
            assertEquals("", n.domain(), "standard ops only: " + n);
            if (List.of("Squeeze", "Unsqueeze", "ReduceSum", "Split").contains(n.opType())) {
                assertFalse(n.hasAttribute("axes") || n.hasAttribute("split"), "opset-13 form: " + n);
            }
        }
        OnnxModel training = up.withGraph(g);
        Random r = new Random(33);
        for (int past : new int[] {0, 3}) {
            int b = 2;
            int s = past == 0 ? 6 : 2;
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            long[] ids = new long[b * s];
            long[] pos = new long[b * s];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = 1 + r.nextInt(999);
                pos[i] = past + i % s;
            }
            long[] mask = new long[b * (past + s)];
            Arrays.fill(mask, 1);
            feeds.put("input_ids", WildModelLoweringTest.longsAs(ids, ElementType.INT32, b, s));
            feeds.put("position_ids", WildModelLoweringTest.longsAs(pos, ElementType.INT32, b, s));
            feeds.put("attention_mask", WildModelLoweringTest.longsAs(mask, ElementType.INT32, b, past + s));
            for (int layer = 0; layer < 5; layer++) {
                feeds.put(
                        "past_" + layer,
                        LoweringCheck.halfs(LoweringCheck.randn(r, 2 * b * 4 * past * 8, 0.5), 2, b, 4, past, 8));
            }
            Map<String, float[]> original = LoweringCheck.run(m, feeds, LoweringCheck.FUSED);
            Map<String, float[]> trained = LoweringCheck.run(training, feeds, LoweringCheck.PLAIN);
            double worst = 0;
            for (Map.Entry<String, float[]> e : original.entrySet()) {
                worst = Math.max(
                        worst,
                        LoweringCheck.compare(
                                e.getKey(),
                                e.getValue(),
                                trained.get(e.getKey()),
                                WildModelLoweringTest.HALF_TOL,
                                1.0));
            }
            System.out.printf(
                    "gpt2-ort-fp16 opset 11 -> 13, lowered, past=%d: worst relative difference %.2e%n", past, worst);
            LoweringCheck.closeAll(feeds);
        }
    }
}
