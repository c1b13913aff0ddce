package dev.rectify.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.core.ModelFormatException;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.Device;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The input/output conventions {@link CausalLmSignature} reads from a graph, on small real graphs run by ONNX
 * Runtime: every combination of id type, KV layout and KV/logits precision decodes through the KV cache exactly
 * as by recomputation, and each unsupported layout is a typed error naming the input or output.
 */
class GraphConventionsTest {
    private static final int V = 8;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void tokenizer() {
        tokenizer = Tokenizer.open(TestModels.tinyDir().resolve("tokenizer.json"));
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    /**
     * A "model" whose logits favour token (k + 1) mod 8 after token k and whose KV cache is a per-token embedding
     * concatenated to the past along the sequence axis, so a wrongly fed cache fails in ONNX Runtime.
     */
    static GraphBuilder chain(DataType ids, DataType kv, DataType logits, boolean stacked) {
        return chain(ids, kv, logits, stacked, "past_key_values.0.", "present.0.");
    }

    /** The chain model with separate KV tensors named {@code pastPrefix + "key"} etc. */
    static GraphBuilder chain(
            DataType ids, DataType kv, DataType logits, boolean stacked, String pastPrefix, String presentPrefix) {
        GraphBuilder g = GraphBuilder.create("chain").input("input_ids", ids, "b", "s");
        float[] e = new float[V * V];
        float[] k = new float[V * 4];
        for (int t = 0; t < V; t++) {
            e[t * V + (t + 1) % V] = 3f;
            e[t * V + t] = 1f;
            for (int i = 0; i < 4; i++) {
                k[t * 4 + i] = 0.25f * t + i;
            }
        }
        g.initializer(Tensors.ofFloats("E", e, V, V))
                .initializer(Tensors.ofFloats("K", k, V, 4))
                .initializer(Tensors.ofLongs("shape5", new long[] {0, 0, 2, 1, 2}, 5));
        String lf = g.op("Gather", "E", "input_ids");
        g.output("logits", logits, "b", "s", V);
        g.node("Cast", List.of(lf), List.of("logits")).attr("to", (long) logits.getNumber());
        String r = g.op("Reshape", g.op("Gather", "K", "input_ids"), "shape5"); // [b, s, 2, 1, 2]
        String t = g.uniqueName("kv");
        g.node("Transpose", List.of(r), List.of(t)).attrInts("perm", 2, 0, 3, 1, 4); // [2, b, 1, s, 2]
        String c = g.uniqueName("kvc");
        g.node("Cast", List.of(t), List.of(c)).attr("to", (long) kv.getNumber());
        if (stacked) {
            g.input("past_0", kv, 2, "b", 1, "p", 2).output("present_0", kv, 2, "b", 1, "t", 2);
            g.node("Concat", List.of("past_0", c), List.of("present_0")).attr("axis", 3L);
        } else {
            g.initializer(Tensors.scalar("zero", 0L)).initializer(Tensors.scalar("one", 1L));
            String[] kinds = {"key", "value"};
            for (int i = 0; i < 2; i++) {
                String past = pastPrefix + kinds[i];
                String present = presentPrefix + kinds[i];
                g.input(past, kv, "b", 1, "p", 2).output(present, kv, "b", 1, "t", 2);
                g.node("Concat", List.of(past, g.op("Gather", c, i == 0 ? "zero" : "one")), List.of(present))
                        .attr("axis", 2L);
            }
        }
        return g;
    }

    private static InferenceSession session(GraphBuilder g) {
        return InferenceSession.fromBytes(
                ModelBuilder.create().graph(g).build().toBytes(),
                "test.onnx",
                Device.cpu(1).sessionConfig());
    }

    private static CausalLmSignature signature(GraphBuilder g, Path emptyDir) {
        try (InferenceSession s = session(g)) {
            return CausalLmSignature.of(s, ModelConfig.read(emptyDir));
        }
    }

    @Test
    void everyIdTypeKvLayoutAndPrecisionDecodesLikeRecomputation(@TempDir Path dir) {
        DataType[] floats = {DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16};
        for (DataType ids : List.of(DataType.INT32, DataType.INT64)) {
            for (boolean stacked : List.of(true, false)) {
                for (DataType kv : floats) {
                    for (DataType logits : floats) {
                        String what = ids + " ids, " + (stacked ? "stacked " : "separate ") + kv + " KV, " + logits
                                + " logits";
                        try (InferenceSession s = session(chain(ids, kv, logits, stacked))) {
                            CausalLmSignature sig = CausalLmSignature.of(s, ModelConfig.read(dir));
                            assertEquals(stacked, sig.stackedKv(), what);
                            assertEquals(ElementType.valueOf(kv.name()), sig.kvType(), what);
                            assertEquals(ElementType.valueOf(logits.name()), sig.logitsType(), what);
                            assertEquals(ElementType.valueOf(ids.name()), sig.idType(), what);
                            assertFalse(sig.hasAttentionMask() || sig.hasPositionIds(), what);
                            Sampling greedy = Sampling.greedy().maxNewTokens(6).stopAtEos(false);
                            List<long[]> prompts = List.of(new long[] {3}, new long[] {5, 6});
                            List<Generation> kvGen = new Generator(s, sig, tokenizer, Set.of(), 0, -1, V)
                                    .generate(prompts, greedy, TokenListener.none(), null);
                            List<Generation> re = Generator.recomputing(s, sig, tokenizer, Set.of(), 0, -1, V)
                                    .generate(prompts, greedy, TokenListener.none(), null);
                            assertArrayEquals(
                                    new long[] {4, 5, 6, 7, 0, 1}, kvGen.get(0).tokenIds(), what);
                            assertArrayEquals(
                                    new long[] {7, 0, 1, 2, 3, 4}, kvGen.get(1).tokenIds(), what);
                            assertArrayEquals(re.get(0).tokenIds(), kvGen.get(0).tokenIds(), what);
                            assertArrayEquals(re.get(1).tokenIds(), kvGen.get(1).tokenIds(), what);
                        }
                    }
                }
            }
        }
    }

    /** input_ids, logits from a constant, plus {@code extra} inputs each passed through to the named output. */
    private static GraphBuilder plain(DataType ids, DataType logits) {
        GraphBuilder g = GraphBuilder.create("plain").input("input_ids", ids, "b", "s");
        g.initializer(Tensors.ofFloats("L", new float[V], 1, 1, V));
        g.output("logits", logits, "b", "s", V);
        g.node("Cast", List.of("L"), List.of("logits")).attr("to", (long) logits.getNumber());
        return g;
    }

    private static GraphBuilder passThrough(
            GraphBuilder g, String in, DataType inType, String out, DataType outType, Object... dims) {
        g.input(in, inType, dims).output(out, outType, dims);
        g.node("Cast", List.of(in), List.of(out)).attr("to", (long) outType.getNumber());
        return g;
    }

    private static void assertRejected(GraphBuilder g, Path dir, String... mentions) {
        var e = assertThrows(ModelFormatException.class, () -> signature(g, dir));
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), "'" + m + "' not in: " + e.getMessage());
        }
    }

    @Test
    void unsupportedLayoutsAreTypedErrorsNamingTheInputOrOutput(@TempDir Path dir) {
        assertRejected(plain(DataType.FLOAT, DataType.FLOAT), dir, "'input_ids'", "int32 or int64");
        assertRejected(plain(DataType.INT64, DataType.INT64), dir, "'logits'", "float32, float16 or bfloat16");
        assertRejected(
                passThrough(
                        plain(DataType.INT64, DataType.FLOAT),
                        "attention_mask",
                        DataType.FLOAT,
                        "m",
                        DataType.FLOAT,
                        "b",
                        "t"),
                dir,
                "'attention_mask'");
        assertRejected(
                passThrough(
                        plain(DataType.INT64, DataType.FLOAT),
                        "token_type_ids",
                        DataType.INT64,
                        "tt",
                        DataType.INT64,
                        "b",
                        "s"),
                dir,
                "'token_type_ids'",
                "past_key_values.%d.key");
        // KV cache in an integer type
        GraphBuilder intKv = plain(DataType.INT64, DataType.FLOAT);
        passThrough(intKv, "past_key_values.0.key", DataType.INT64, "present.0.key", DataType.INT64, "b", 1, "p", 2);
        passThrough(
                intKv, "past_key_values.0.value", DataType.INT64, "present.0.value", DataType.INT64, "b", 1, "p", 2);
        assertRejected(intKv, dir, "past_key_values.0.key", "float32, float16 or bfloat16");
        // a key without its value
        GraphBuilder half = plain(DataType.INT64, DataType.FLOAT);
        passThrough(half, "past_key_values.0.key", DataType.FLOAT, "present.0.key", DataType.FLOAT, "b", 1, "p", 2);
        assertRejected(half, dir, "layer 0", "past_key_values.0.value");
        // a past without its present output
        GraphBuilder noPresent = plain(DataType.INT64, DataType.FLOAT);
        passThrough(
                noPresent, "past_key_values.0.key", DataType.FLOAT, "present.0.key", DataType.FLOAT, "b", 1, "p", 2);
        passThrough(
                noPresent, "past_key_values.0.value", DataType.FLOAT, "next.0.value", DataType.FLOAT, "b", 1, "p", 2);
        assertRejected(noPresent, dir, "past_key_values.0.value", "no output present.0.value");
        // key and value in different precisions
        GraphBuilder mixed = plain(DataType.INT64, DataType.FLOAT);
        passThrough(
                mixed, "past_key_values.0.key", DataType.FLOAT16, "present.0.key", DataType.FLOAT16, "b", 1, "p", 2);
        passThrough(
                mixed, "past_key_values.0.value", DataType.FLOAT, "present.0.value", DataType.FLOAT, "b", 1, "p", 2);
        assertRejected(mixed, dir, "past_key_values.0.value", "one type for the whole cache");
        // a present in another type than its past (it could not be fed back unchanged)
        GraphBuilder upcast = plain(DataType.INT64, DataType.FLOAT);
        passThrough(upcast, "past_0", DataType.FLOAT16, "present_0", DataType.FLOAT, 2, "b", 4, "p", 8);
        assertRejected(upcast, dir, "present_0", "past_0");
        // stacked KV whose first axis is not (keys, values)
        GraphBuilder three = plain(DataType.INT64, DataType.FLOAT);
        passThrough(three, "past_0", DataType.FLOAT16, "present_0", DataType.FLOAT16, 3, "b", 4, "p", 8);
        assertRejected(three, dir, "past_0", "[2, batch, heads, past, head_dim]");
        // both layouts at once
        GraphBuilder both = chain(DataType.INT64, DataType.FLOAT, DataType.FLOAT, false);
        passThrough(both, "past_1", DataType.FLOAT, "present_1", DataType.FLOAT, 2, "b", 1, "p", 2);
        assertRejected(both, dir, "past_1", "one layout");
        // symbolic KV sizes and no config to fill them
        GraphBuilder symbolic = plain(DataType.INT64, DataType.FLOAT);
        passThrough(
                symbolic, "past_key_values.0.key", DataType.FLOAT, "present.0.key", DataType.FLOAT, "b", "h", "p", "d");
        passThrough(
                symbolic,
                "past_key_values.0.value",
                DataType.FLOAT,
                "present.0.value",
                DataType.FLOAT,
                "b",
                "h",
                "p",
                "d");
        assertRejected(symbolic, dir, "num_key_value_heads");
    }

    @Test
    void genaiConfigRenamesInputsAndNamesTheGraphFile(@TempDir Path dir) throws Exception {
        GraphBuilder g = chain(DataType.INT64, DataType.FLOAT16, DataType.FLOAT16, false);
        Files.copy(TestModels.tinyDir().resolve("tokenizer.json"), dir.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("genai_config.json"), """
                {"model": {"type": "chain", "vocab_size": 8, "context_length": 64, "eos_token_id": [7],
                  "decoder": {"filename": "decoder.onnx",
                    "inputs": {"past_key_names": "cache_%d_key", "past_value_names": "cache_%d_value"},
                    "outputs": {"present_key_names": "new_%d_key", "present_value_names": "new_%d_value"}}}}""");
        var e = assertThrows(ModelFormatException.class, () -> BaseModel.open(dir));
        assertTrue(
                e.getMessage().contains("genai_config.json") && e.getMessage().contains("decoder.onnx"),
                e.getMessage());

        GraphBuilder h = chain(DataType.INT64, DataType.FLOAT16, DataType.FLOAT16, false, "cache_0_", "new_0_");
        ModelBuilder.create().graph(h).build().write(dir.resolve("decoder.onnx"));
        try (BaseModel m = BaseModel.open(dir, Device.cpu(1))) {
            assertEquals(dir.resolve("decoder.onnx"), m.modelFile());
            assertEquals(64, m.contextLength());
            assertTrue(m.eosTokenIds().contains(7L));
            CausalLmSignature sig = CausalLmSignature.of(m.decodeSession(), m.config());
            assertEquals(List.of("cache_0_key"), sig.pastKeyNames());
            assertEquals(List.of("new_0_value"), sig.presentValueNames());
            Generation kv = m.generator()
                    .generate(List.of(new long[] {2}), Sampling.greedy().maxNewTokens(8), TokenListener.none(), null)
                    .get(0);
            assertArrayEquals(new long[] {3, 4, 5, 6}, kv.tokenIds()); // 7 is eos
            assertEquals(FinishReason.EOS, kv.finishReason());
        }
    }
}
