package dev.rectify.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.Rectify;
import dev.rectify.TestModels;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.adapter.MergedModelExport;
import dev.rectify.adapter.MultiLoraModel;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.generate.Sampling;
import dev.rectify.lora.AdapterMismatchException.Reason;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.Device;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.RunOptions;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainedWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** PEFT files, the merged-model export, foreign PEFT adapters, and adapters that do not fit. */
class AdapterFormatsTest {
    static final long[] IDS = MultiLoraGraphTest.IDS;

    /** A real (short) DFT fine-tune of the bundled model, not stored. */
    static Adapter trained(Path runDir) {
        var data = JsonlDataset.read(TestModels.tinyDir()
                        .resolve("../../data/math/train.jsonl")
                        .normalize())
                .subList(0, 8);
        return Rectify.fineTune(
                TestModels.tiny(),
                data,
                FineTuneOptions.builder()
                        .objective(Objective.DFT)
                        .lora(4, 8)
                        .batchSize(4)
                        .microBatchSize(2)
                        .maxSeqLength(96)
                        .learningRate(5e-3)
                        .evalFraction(0)
                        .seed(11)
                        .maxSteps(3)
                        .runDir(runDir)
                        .build(),
                null);
    }

    @Test
    void peftRoundTripGivesIdenticalWeightsAndMetadata(@TempDir Path dir) {
        Adapter a = trained(dir.resolve("run"));
        AdapterFiles.write(a, dir.resolve("peft"));
        Adapter back = AdapterFiles.read(dir.resolve("peft"), null);
        assertEquals(a.id(), back.id());
        assertEquals(a.baseModelHash(), back.baseModelHash());
        assertEquals(a.rank(), back.rank());
        assertEquals(a.alpha(), back.alpha());
        assertEquals(a.targetModules(), back.targetModules());
        assertEquals(a.recipe(), back.recipe());
        assertEquals(a.weights().values().keySet(), back.weights().values().keySet());
        for (var e : a.weights().values().entrySet()) {
            assertArrayEquals(e.getValue(), back.weights().values().get(e.getKey()), 0f, e.getKey());
            assertArrayEquals(
                    a.weights().shapes().get(e.getKey()),
                    back.weights().shapes().get(e.getKey()));
        }
        assertEquals(
                a.result().orElseThrow().steps(), back.result().orElseThrow().steps());
        assertEquals(
                a.result().orElseThrow().trainedTokens(),
                back.result().orElseThrow().trainedTokens());
    }

    @Test
    void aTrainedAdapterGivesTheSameLogitsServedMergedAndExported(@TempDir Path dir) {
        BaseModel base = TestModels.tiny();
        Adapter a = trained(dir.resolve("run"));
        float[] training;
        try (InferenceSession t = LoraFixtures.trainingGraph(base, a)) {
            training = LoraFixtures.logits(t, base, IDS, null);
        }
        assertTrue(
                LoraFixtures.maxAbsDiff(training, LoraFixtures.logits(base.decodeSession(), base, IDS, null)) > 1e-3,
                "training moved the logits");
        float[] served;
        try (MultiLoraModel m = MultiLoraModel.builder(base)
                .store(AdapterStore.open(dir.resolve("store")))
                .graphCache(dir.resolve("graphs"))
                .build()) {
            String id = m.register(a);
            try (var lease = m.cache().acquire(id);
                    RunOptions ro = new RunOptions().activate(lease.nativeAdapter())) {
                served = LoraFixtures.logits(m.session(), base, IDS, ro);
            }
            Path exported = MergedModelExport.write(base, a, dir.resolve("merged"));
            assertTrue(Files.isRegularFile(exported.resolve("model_with_past.onnx")));
            assertTrue(Files.isRegularFile(exported.resolve("tokenizer.json")));
            try (BaseModel merged = BaseModel.open(exported, Device.cpu(2))) {
                float[] viaExport = LoraFixtures.logits(merged.decodeSession(), base, IDS, null);
                float[] viaExportFull = LoraFixtures.logits(merged.fullSession(), base, IDS, null);
                assertArrayEquals(training, served, 1e-4f, "served");
                assertArrayEquals(training, viaExport, 1e-4f, "exported KV model");
                assertArrayEquals(training, viaExportFull, 1e-4f, "exported model.onnx");
                Sampling greedy = Sampling.greedy().maxNewTokens(12);
                assertEquals(
                        merged.generate("What is 2 + 3?", greedy).text(),
                        m.generate(id, "What is 2 + 3?", greedy).text());
            }
        }
    }

    @Test
    void aPeftAdapterMadeElsewhereLoadsAndServes(@TempDir Path dir) throws Exception {
        BaseModel base = TestModels.tiny();
        Adapter r = LoraFixtures.random(base, 21, 4, Set.of("q_proj", "v_proj", "down_proj"));
        Path peft = writeForeignPeft(
                dir.resolve("hf-adapter"), r.weights(), 4, 8, List.of("q_proj", "v_proj", "down_proj"));
        Adapter foreign = AdapterFiles.read(peft, base.contentHash());
        assertEquals(base.contentHash(), foreign.baseModelHash());
        float[] training;
        try (InferenceSession t = LoraFixtures.trainingGraph(base, foreign)) {
            training = LoraFixtures.logits(t, base, IDS, null);
        }
        try (MultiLoraModel m = MultiLoraModel.builder(base)
                .store(AdapterStore.open(dir.resolve("store")))
                .graphCache(dir.resolve("graphs"))
                .build()) {
            String id = m.registerPeft(peft);
            try (var lease = m.cache().acquire(id);
                    RunOptions ro = new RunOptions().activate(lease.nativeAdapter())) {
                assertArrayEquals(training, LoraFixtures.logits(m.session(), base, IDS, ro), 1e-4f);
            }
        }
    }

    /** A PEFT folder as Hugging Face PEFT writes it: no Rectify manifest, safetensors with PEFT names. */
    static Path writeForeignPeft(Path dir, TrainedWeights w, int r, double alpha, List<String> targets)
            throws Exception {
        Files.createDirectories(dir);
        Files.write(
                dir.resolve(AdapterFiles.WEIGHTS), Safetensors.toBytes(w.values(), w.shapes(), Map.of("format", "pt")));
        ObjectMapper json = new ObjectMapper();
        ObjectNode c = json.createObjectNode();
        c.put("peft_type", "LORA")
                .put("task_type", "CAUSAL_LM")
                .put("r", r)
                .put("lora_alpha", alpha)
                .put("lora_dropout", 0.05)
                .put("bias", "none")
                .put("base_model_name_or_path", "rectify-tiny")
                .put("use_rslora", false)
                .put("use_dora", false)
                .put("fan_in_fan_out", false);
        targets.forEach(c.putArray("target_modules")::add);
        Files.writeString(dir.resolve(AdapterFiles.CONFIG), c.toPrettyString());
        return dir;
    }

    @Test
    void adaptersThatDoNotFitAreTypedErrorsAndNothingIsStored(@TempDir Path dir) throws Exception {
        BaseModel base = TestModels.tiny();
        Adapter good = LoraFixtures.random(base, 5, 4, Set.of("q_proj", "v_proj"));
        AdapterStore store = AdapterStore.open(dir.resolve("store"));
        try (MultiLoraModel m = MultiLoraModel.builder(base)
                .store(store)
                .graphCache(dir.resolve("graphs"))
                .build()) {
            String a0 = LoraTarget.loraAName("model.layers.0.self_attn.q_proj");
            String b0 = LoraTarget.loraBName("model.layers.0.self_attn.q_proj");

            // another base: same module names, other shapes (a hidden size of 64)
            Map<String, float[]> v = new LinkedHashMap<>(Map.of(a0, new float[4 * 64], b0, new float[64 * 4]));
            Map<String, long[]> s = new LinkedHashMap<>(Map.of(a0, new long[] {4, 64}, b0, new long[] {64, 4}));
            assertReason(Reason.SHAPE_MISMATCH, () -> m.register(with(good, v, s, 4)));
            // another base: module names this one does not have
            String gptA = "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight";
            String gptB = "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight";
            assertReason(
                    Reason.UNKNOWN_MODULE,
                    () -> m.register(with(
                            good,
                            Map.of(gptA, new float[4 * 128], gptB, new float[384 * 4]),
                            Map.of(gptA, new long[] {4, 128}, gptB, new long[] {384, 4}),
                            4)));
            // a missing tensor: A without its B
            Map<String, float[]> noB = new LinkedHashMap<>(good.weights().values());
            noB.remove(b0);
            assertReason(
                    Reason.MISSING_TENSOR,
                    () -> m.register(with(good, noB, good.weights().shapes(), 4)));
            // a rank mismatch: tensors of rank 4 in an adapter that declares r = 8
            assertReason(
                    Reason.RANK_MISMATCH,
                    () -> m.register(
                            with(good, good.weights().values(), good.weights().shapes(), 8)));
            // another base model hash
            Adapter otherBase = Adapter.builder()
                    .id(good.id())
                    .baseModelHash("ab".repeat(32))
                    .lora(4, 8, Set.of("q_proj"))
                    .weights(good.weights())
                    .build();
            assertReason(Reason.OTHER_BASE, () -> m.register(otherBase));
            // a full fine-tune cannot be served as LoRA
            Adapter full = Adapter.builder()
                    .id("cd".repeat(32))
                    .baseModelHash(base.contentHash())
                    .kind(Adapter.Kind.FULL)
                    .weights(new TrainedWeights(
                            Map.of("model.norm.weight", new float[128]), Map.of("model.norm.weight", new long[] {128})))
                    .build();
            assertReason(Reason.NOT_LORA, () -> m.register(full));
            assertTrue(store.list().isEmpty(), "nothing stored: " + store.list());
            assertEquals(0, m.cache().stats().entries());

            // a PEFT folder whose config declares another rank than its tensors
            Path bad = writeForeignPeft(dir.resolve("bad-rank"), good.weights(), 8, 16, List.of("q_proj", "v_proj"));
            var e = assertThrows(ModelFormatException.class, () -> m.registerPeft(bad));
            assertTrue(e.getMessage().contains("rank 8"), e.getMessage());
            // and the good one still registers and serves
            String id = m.register(good);
            assertFalse(m.generate(id, "What is 1 + 1?", Sampling.greedy().maxNewTokens(4))
                    .text()
                    .isEmpty());
        }
    }

    private static Adapter with(Adapter like, Map<String, float[]> values, Map<String, long[]> shapes, int rank) {
        return Adapter.builder()
                .id(like.id())
                .baseModelHash(like.baseModelHash())
                .lora(rank, 2.0 * rank, like.targetModules())
                .weights(new TrainedWeights(values, shapes))
                .build();
    }

    private static void assertReason(Reason r, Executable call) {
        var e = assertThrows(AdapterMismatchException.class, call);
        assertEquals(r, e.reason(), e.getMessage());
    }

    @Test
    void theExportedMergedModelIsTheMergedSessionsModel(@TempDir Path dir) {
        BaseModel base = TestModels.tiny();
        Adapter a = LoraFixtures.random(base, 8, 2, LoraConfig.LLAMA_TARGETS);
        try (var adapted = AdaptedModel.of(base, a)) {
            Path out = adapted.exportMerged(dir.resolve("m"));
            assertTrue(Files.isRegularFile(out.resolve(MergedModelExport.PROVENANCE)));
            assertFalse(OnnxModel.read(out.resolve("model.onnx")).hasExternalData());
            OnnxModel inMemory = AdaptedModel.merge(
                    OnnxModel.read(Path.of(base.decodeSession().source())), a);
            try (BaseModel merged = BaseModel.open(out, Device.cpu(2));
                    InferenceSession s = InferenceSession.fromBytes(
                            inMemory.toBytes(), "merged", base.device().sessionConfig())) {
                assertArrayEquals(
                        LoraFixtures.logits(s, base, IDS, null),
                        LoraFixtures.logits(merged.decodeSession(), base, IDS, null),
                        0f);
                Sampling greedy = Sampling.greedy().maxNewTokens(10);
                assertEquals(
                        adapted.generate("What is 4 + 4?", greedy).text(),
                        merged.generate("What is 4 + 4?", greedy).text());
            }
        }
    }
}
