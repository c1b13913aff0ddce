package dev.rectify.adapter;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.TestModels;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.lora.AdapterMismatchException;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraFixtures;
import dev.rectify.lora.OnnxAdapterFormat;
import dev.rectify.lora.PeftAdapterConfig;
import dev.rectify.lora.ServingLayout;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.Device;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.LoraAdapter;
import dev.rectify.ort.RunOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three export formats: PEFT's config schema, ONNX Runtime's adapter layout, and the merged model. */
class AdapterExportTest {
    /**
     * PEFT 0.13's {@code LoraConfig().to_dict()} keys (PeftConfig's fields and LoraConfig's, runtime_config popped),
     * taken from peft/config.py and peft/tuners/lora/config.py.
     */
    static final Set<String> PEFT_LORA_KEYS = Set.of(
            "peft_type",
            "auto_mapping",
            "base_model_name_or_path",
            "revision",
            "task_type",
            "inference_mode",
            "r",
            "target_modules",
            "exclude_modules",
            "lora_alpha",
            "lora_dropout",
            "fan_in_fan_out",
            "bias",
            "use_rslora",
            "modules_to_save",
            "init_lora_weights",
            "layers_to_transform",
            "layers_pattern",
            "rank_pattern",
            "alpha_pattern",
            "megatron_config",
            "megatron_core",
            "loftq_config",
            "use_dora",
            "layer_replication");

    private static Adapter adapter() {
        return LoraFixtures.random(TestModels.tiny(), 5, 4, LoraConfig.LLAMA_TARGETS);
    }

    @Test
    void peftConfigHasEveryFieldPeftWritesWithPeftsValues(@TempDir Path dir) throws Exception {
        BaseModel base = TestModels.tiny();
        Adapter a = adapter();
        Path out = AdapterExport.write(base, a, AdapterExport.Format.PEFT, dir.resolve("peft"), null);
        JsonNode c =
                new ObjectMapper().readTree(out.resolve(AdapterFiles.CONFIG).toFile());
        Set<String> keys = new HashSet<>();
        c.fieldNames().forEachRemaining(keys::add);
        assertEquals(PEFT_LORA_KEYS, keys);
        assertEquals(new HashSet<>(PeftAdapterConfig.KEYS), keys);
        assertEquals("LORA", c.get("peft_type").asText());
        assertEquals("CAUSAL_LM", c.get("task_type").asText());
        assertTrue(c.get("r").isInt());
        assertEquals(4, c.get("r").asInt());
        assertTrue(c.get("lora_alpha").isInt(), "PEFT's lora_alpha is an int: " + c.get("lora_alpha"));
        assertEquals(8, c.get("lora_alpha").asInt());
        assertEquals(0.0, c.get("lora_dropout").asDouble());
        assertTrue(c.get("lora_dropout").isFloatingPointNumber());
        assertEquals("none", c.get("bias").asText());
        assertFalse(c.get("fan_in_fan_out").asBoolean(), "Llama's projections are nn.Linear, [out, in]");
        assertTrue(c.get("inference_mode").asBoolean());
        assertTrue(c.get("init_lora_weights").isBoolean()
                && c.get("init_lora_weights").asBoolean());
        assertTrue(c.get("modules_to_save").isNull());
        assertTrue(c.get("layers_to_transform").isNull());
        assertTrue(c.get("layers_pattern").isNull());
        assertTrue(c.get("rank_pattern").isObject() && c.get("rank_pattern").isEmpty());
        assertTrue(c.get("alpha_pattern").isObject() && c.get("alpha_pattern").isEmpty());
        assertTrue(c.get("loftq_config").isObject() && c.get("loftq_config").isEmpty());
        assertEquals("megatron.core", c.get("megatron_core").asText());
        assertFalse(c.get("use_dora").asBoolean());
        assertFalse(c.get("use_rslora").asBoolean());
        List<String> targets = new ArrayList<>();
        c.get("target_modules").forEach(t -> targets.add(t.asText()));
        assertEquals(new ArrayList<>(new TreeSet<>(LoraConfig.LLAMA_TARGETS)), targets);
        // the base's name or path, never a hash; the hash stays in Rectify's manifest
        String name = c.get("base_model_name_or_path").asText();
        assertEquals(base.directory().toAbsolutePath().normalize().toString(), name);
        assertFalse(name.contains(base.contentHash()));
        JsonNode manifest =
                new ObjectMapper().readTree(out.resolve(AdapterFiles.MANIFEST).toFile());
        assertEquals(base.contentHash(), manifest.get("base_model_hash").asText());
        // and Rectify reads its export back, checksums included
        Adapter back = AdapterFiles.read(out, null);
        assertEquals(a.id(), back.id());
        assertEquals(a.alpha(), back.alpha());
        for (var e : a.weights().values().entrySet()) {
            assertArrayEquals(e.getValue(), back.weights().values().get(e.getKey()), 0f, e.getKey());
        }
    }

    @Test
    void peftBaseNameComesFromConfigOrTheCaller(@TempDir Path dir) throws Exception {
        BaseModel base = TestModels.tiny();
        Path out = AdapterExport.write(
                base, adapter(), AdapterExport.Format.PEFT, dir.resolve("p"), "meta-llama/Llama-3.2-1B");
        assertEquals(
                "meta-llama/Llama-3.2-1B",
                new ObjectMapper()
                        .readTree(out.resolve(AdapterFiles.CONFIG).toFile())
                        .get("base_model_name_or_path")
                        .asText());
        // a model folder whose config.json names its Hugging Face origin
        Path copy = dir.resolve("named-model");
        Files.createDirectories(copy);
        try (var files = Files.list(base.directory())) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()));
            }
        }
        var cfg = (ObjectNode)
                new ObjectMapper().readTree(copy.resolve("config.json").toFile());
        cfg.put("_name_or_path", "rectify-dev/rectify-tiny");
        Files.writeString(copy.resolve("config.json"), cfg.toPrettyString());
        try (BaseModel named = BaseModel.open(copy, Device.cpu(1))) {
            assertEquals("rectify-dev/rectify-tiny", AdapterExport.baseModelNameOrPath(named));
        }
    }

    @Test
    void onnxAdapterExportComputesWhatTheMergedModelComputes(@TempDir Path dir) throws Exception {
        BaseModel base = TestModels.tiny();
        Adapter a = adapter();
        Path out = AdapterExport.write(base, a, AdapterExport.Format.ONNX_ADAPTER, dir.resolve("ort"), null);
        for (String f : List.of(
                "model.onnx",
                "model_with_past.onnx",
                AdapterExport.ONNX_ADAPTER_FILE,
                "tokenizer.json",
                "config.json",
                AdapterExport.ONNX_ADAPTER_MANIFEST)) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        // every adapter parameter overrides an input of the exported graph
        OnnxAdapterFormat.Contents params =
                OnnxAdapterFormat.read(Files.readAllBytes(out.resolve(AdapterExport.ONNX_ADAPTER_FILE)), "export");
        Set<String> inputs = new HashSet<>();
        OnnxModel.read(out.resolve("model_with_past.onnx")).graph().inputs().forEach(i -> inputs.add(i.getName()));
        assertTrue(inputs.containsAll(params.values().keySet()), "adapter parameters are graph inputs");
        assertTrue(params.values().containsKey(ServingLayout.SCALE_INPUT));
        float[] merged;
        float[] plain = LoraFixtures.logits(base.decodeSession(), base, IDS, null);
        Path mergedDir = AdapterExport.write(base, a, AdapterExport.Format.MERGED, dir.resolve("merged"), null);
        try (BaseModel m = BaseModel.open(mergedDir, Device.cpu(2))) {
            merged = LoraFixtures.logits(m.decodeSession(), base, IDS, null);
        }
        try (InferenceSession s = InferenceSession.open(
                        out.resolve("model_with_past.onnx"), Device.cpu(2).sessionConfig());
                LoraAdapter la = LoraAdapter.fromFile(out.resolve(AdapterExport.ONNX_ADAPTER_FILE));
                RunOptions ro = new RunOptions().activate(la)) {
            float[] viaOrt = LoraFixtures.logits(s, base, IDS, ro);
            float[] withoutAdapter = LoraFixtures.logits(s, base, IDS, null);
            assertTrue(LoraFixtures.maxAbsDiff(merged, plain) > 1e-3, "the adapter moves the logits");
            assertArrayEquals(merged, viaOrt, 1e-4f, "ORT's adapter on the exported graph = the merged model");
            assertArrayEquals(plain, withoutAdapter, 1e-5f, "without the adapter the export is the base model");
        }
    }

    @Test
    void formatsParseAndWrongUseIsRefused(@TempDir Path dir) {
        assertEquals(AdapterExport.Format.ONNX_ADAPTER, AdapterExport.Format.parse("onnx-adapter"));
        assertEquals(AdapterExport.Format.PEFT, AdapterExport.Format.parse("PEFT"));
        assertEquals(AdapterExport.Format.MERGED, AdapterExport.Format.parse("merged"));
        var e = assertThrows(InvalidArgumentException.class, () -> AdapterExport.Format.parse("gguf"));
        assertTrue(e.getMessage().contains("peft, onnx-adapter or merged"), e.getMessage());
        BaseModel base = TestModels.tiny();
        Adapter other = Adapter.builder()
                .id("f".repeat(64))
                .baseModelHash("0".repeat(64))
                .kind(Adapter.Kind.LORA)
                .lora(4, 8, LoraConfig.LLAMA_TARGETS)
                .recipe("x")
                .weights(adapter().weights())
                .build();
        assertThrows(
                AdapterMismatchException.class,
                () -> AdapterExport.write(base, other, AdapterExport.Format.PEFT, dir.resolve("x"), null));
        assertFalse(Files.exists(dir.resolve("x")));
    }

    static final long[] IDS = {1, 17, 42, 99, 100, 7, 250, 3, 64, 12};
}
