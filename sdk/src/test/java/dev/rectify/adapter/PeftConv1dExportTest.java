package dev.rectify.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.WildModels;
import dev.rectify.core.Objective;
import dev.rectify.lora.PeftAdapterConfig;
import dev.rectify.lora.Safetensors;
import dev.rectify.model.BaseModel;
import dev.rectify.train.TrainedWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A LoRA adapter of GPT-2 (Conv1D projections, weight [in, out]; the wild export is opset 11, so the adapter is
 * made here rather than trained) exported as PEFT writes one for the same adapter:
 * {@code fan_in_fan_out: true} (PEFT sets it for Conv1D targets), lora_A [r, in] and lora_B [out, r] in PEFT's usual
 * shapes, the trained {@code lora_dropout}, and {@code base_model_name_or_path} the base's Hugging Face id from its
 * config.json ({@code hf-internal-testing/tiny-random-gpt2}), never a hash; read back with the same settings.
 */
class PeftConv1dExportTest {
    @Test
    void gpt2AdapterIsWrittenAsPeftWritesConv1dAdapters(@TempDir Path dir) throws Exception {
        try (BaseModel base = BaseModel.open(WildModels.gpt2())) {
            assertEquals("gpt2", base.config().modelType());
            // a LoRA adapter of rank 4 on every Conv1D of the 5 layers, in PEFT's shapes, described as training
            // describes it
            Map<String, float[]> values = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            SplittableRandom r = new SplittableRandom(3);
            for (int layer = 0; layer < 5; layer++) {
                for (String m : List.of("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")) {
                    String module = "base_model.model.transformer.h." + layer + "." + m;
                    long[] conv1d = conv1dShape(m);
                    put(values, shapes, module + ".lora_A.weight", r, 4, conv1d[0]);
                    put(values, shapes, module + ".lora_B.weight", r, conv1d[1], 4);
                }
            }
            Adapter.Builder b = Adapter.builder()
                    .id("0".repeat(64))
                    .baseModelHash(base.contentHash())
                    .objective(Objective.DFT)
                    .weights(new TrainedWeights(values, shapes))
                    .lora(4, 8, Set.of("c_attn", "c_proj", "c_fc"));
            Adapter a = AdapterExport.describeBase(b, base, 0.1).build();
            assertTrue(a.fanInFanOut(), "GPT-2's projections are Conv1D");
            AdapterFiles.write(a, dir.resolve("files"));
            Path exported = AdapterExport.write(base, a, AdapterExport.Format.PEFT, dir.resolve("export"), null);
            for (Path out : List.of(dir.resolve("files"), exported)) {
                JsonNode c = new ObjectMapper()
                        .readTree(out.resolve(AdapterFiles.CONFIG).toFile());
                Set<String> keys = new HashSet<>();
                c.fieldNames().forEachRemaining(keys::add);
                assertEquals(AdapterExportTest.PEFT_LORA_KEYS, keys);
                assertTrue(c.get("fan_in_fan_out").asBoolean(), "PEFT writes fan_in_fan_out=true for GPT-2's Conv1D");
                assertEquals(
                        "hf-internal-testing/tiny-random-gpt2",
                        c.get("base_model_name_or_path").asText());
                assertFalse(c.toString().contains(base.contentHash()), "the hash stays in rectify-adapter.json");
                assertEquals(
                        base.contentHash(),
                        new ObjectMapper()
                                .readTree(out.resolve(AdapterFiles.MANIFEST).toFile())
                                .get("base_model_hash")
                                .asText());
                assertEquals(0.1, c.get("lora_dropout").asDouble());
                assertEquals(4, c.get("r").asInt());
                assertEquals(8, c.get("lora_alpha").asInt());
                Safetensors.Contents w =
                        Safetensors.parse(Files.readAllBytes(out.resolve(AdapterFiles.WEIGHTS)), "weights");
                assertEquals(40, w.shapes().size());
                for (Map.Entry<String, long[]> e : w.shapes().entrySet()) {
                    long[] conv1d = conv1dShape(e.getKey().replaceFirst("\\.lora_[AB]\\.weight$", ""));
                    // PEFT's shapes for a Conv1D (weight [in, out]): lora_A = Linear(in, r) → [r, in]; lora_B → [out,
                    // r]
                    long[] expected = e.getKey().endsWith(".lora_A.weight")
                            ? new long[] {4, conv1d[0]}
                            : new long[] {conv1d[1], 4};
                    assertArrayEquals(expected, e.getValue(), e.getKey());
                }
                Adapter back = AdapterFiles.read(out, null);
                assertTrue(back.fanInFanOut());
                assertEquals(0.1, back.loraDropout());
                assertEquals(
                        "hf-internal-testing/tiny-random-gpt2",
                        back.baseModelNameOrPath().orElseThrow());
                for (var e : values.entrySet()) {
                    assertArrayEquals(e.getValue(), back.weights().values().get(e.getKey()), 0f, e.getKey());
                }
            }
        }
        // a Llama base: nn.Linear, no fan_in_fan_out
        assertFalse(PeftAdapterConfig.fanInFanOut("llama"));
        assertFalse(PeftAdapterConfig.fanInFanOut(null));
    }

    private static void put(
            Map<String, float[]> values,
            Map<String, long[]> shapes,
            String name,
            SplittableRandom r,
            long rows,
            long cols) {
        float[] v = new float[(int) (rows * cols)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (r.nextDouble() - 0.5);
        }
        values.put(name, v);
        shapes.put(name, new long[] {rows, cols});
    }

    /** GPT-2's Conv1D weight shapes [in, out] for n_embd 32 (n_inner 4 × 32): c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj. */
    private static long[] conv1dShape(String module) {
        if (module.endsWith("attn.c_attn")) {
            return new long[] {32, 96};
        } else if (module.endsWith("attn.c_proj")) {
            return new long[] {32, 32};
        } else if (module.endsWith("mlp.c_fc")) {
            return new long[] {32, 128};
        } else if (module.endsWith("mlp.c_proj")) {
            return new long[] {128, 32};
        }
        throw new AssertionError("unexpected module " + module);
    }
}
