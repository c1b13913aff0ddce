package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.Objective;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The hyperparameter record's encoding covers every component (a component added without its encoding fails here),
 * is stable and versioned, and the named mapping accepts our names and TRL's with the one set of defaults.
 */
class HyperparametersTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void everyRecordComponentIsEncoded() {
        Set<String> components = new HashSet<>();
        for (RecordComponent c : Hyperparameters.class.getRecordComponents()) {
            components.add(c.getName());
        }
        assertEquals(
                components,
                Hyperparameters.DEFAULTS.fields().keySet(),
                "a component of Hyperparameters is missing from fields() (or fields() names one that does not exist)");
    }

    @Test
    void changingAnyComponentChangesTheEncoding() throws Exception {
        RecordComponent[] cs = Hyperparameters.class.getRecordComponents();
        Constructor<Hyperparameters> ctor = Hyperparameters.class.getDeclaredConstructor(
                Arrays.stream(cs).map(RecordComponent::getType).toArray(Class<?>[]::new));
        Object[] base = new Object[cs.length];
        for (int i = 0; i < cs.length; i++) {
            base[i] = cs[i].getAccessor().invoke(Hyperparameters.DEFAULTS);
        }
        String reference = Hyperparameters.DEFAULTS.encode();
        assertEquals(reference, ctor.newInstance(base).encode(), "equal values encode equally");
        for (int i = 0; i < cs.length; i++) {
            Object[] args = base.clone();
            args[i] = other(cs[i].getType(), base[i]);
            String changed = ctor.newInstance(args).encode();
            assertNotEquals(reference, changed, "changing " + cs[i].getName() + " must change the encoding");
        }
    }

    private static Object other(Class<?> type, Object v) {
        if (type == int.class) {
            return (Integer) v + 1;
        } else if (type == long.class) {
            return (Long) v + 1;
        } else if (type == double.class) {
            return (Double) v + 0.125;
        } else if (type == boolean.class) {
            return !(Boolean) v;
        } else if (type == String.class) {
            return v + "x";
        } else if (type == List.class) {
            List<String> l = new ArrayList<>((List<String>) v);
            l.add("extra_proj");
            return l;
        } else if (type == Objective.class) {
            return v.equals(Objective.SFT) ? Objective.DFT : Objective.SFT;
        } else if (type.isEnum()) {
            Object[] all = type.getEnumConstants();
            return all[(Arrays.asList(all).indexOf(v) + 1) % all.length];
        }
        throw new AssertionError("the test does not know how to change a " + type + ": teach it");
    }

    @Test
    void theEncodingIsVersionedExactAndIgnoresTargetOrder() {
        String e = Hyperparameters.DEFAULTS.encode();
        assertTrue(e.startsWith(Hyperparameters.ENCODING + "\n"), e);
        assertTrue(e.contains("\nlearningRate=" + Double.toHexString(2e-4) + "\n"), e);
        Hyperparameters a = FineTuneOptions.builder()
                .loraTargets("v_proj", "q_proj")
                .build()
                .hyperparameters();
        Hyperparameters b = FineTuneOptions.builder()
                .loraTargets("q_proj", "v_proj")
                .build()
                .hyperparameters();
        assertEquals(a.encode(), b.encode());
        assertEquals(a, b);
        // the record round-trips through the options builder
        assertEquals(a, FineTuneOptions.builder().hyperparameters(a).build().hyperparameters());
        assertEquals(
                Hyperparameters.DEFAULTS,
                FineTuneOptions.builder().build().hyperparameters(),
                "FineTuneOptions' defaults are Hyperparameters.DEFAULTS");
    }

    private static FineTuneOptions named(String json) throws Exception {
        Map<String, JsonNode> m = new LinkedHashMap<>();
        JSON.readTree(json).fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue()));
        return HyperparameterNames.apply(m, FineTuneOptions.builder(), "option ")
                .build();
    }

    @Test
    void trlNamesAndOurNamesGiveTheSameOptions() throws Exception {
        FineTuneOptions ours =
                named("{\"epochs\": 2, \"micro_batch_size\": 2, \"batch_size\": 8, \"max_seq_length\": 128, "
                        + "\"learning_rate\": 1e-4, \"schedule\": \"linear\", \"eval_every\": 5}");
        FineTuneOptions trl = named("{\"num_train_epochs\": 2, \"per_device_train_batch_size\": 2, "
                + "\"gradient_accumulation_steps\": 4, \"max_length\": 128, \"learning_rate\": 1e-4, "
                + "\"lr_scheduler_type\": \"linear\", \"eval_steps\": 5, \"loss_type\": \"dft\"}");
        assertEquals(ours.hyperparameters(), trl.hyperparameters());
        assertEquals(8, trl.batchSize());
        assertEquals(2, trl.microBatchSize());
        // TRL's per-device batch alone: one micro-batch per optimizer step
        FineTuneOptions perDevice = named("{\"per_device_train_batch_size\": 2}");
        assertEquals(2, perDevice.batchSize());
        assertEquals(Objective.SFT, named("{\"loss_type\": \"nll\"}").objective());
        // the LoRA alpha follows the rank (twice it) unless given
        assertEquals(16.0, named("{\"lora_rank\": 8}").loraAlpha());
        assertEquals(Hyperparameters.DEFAULTS, named("{}").hyperparameters());
    }

    @Test
    void trlAndPeftLoraNamesAndTheScheduleNamesAreAccepted() throws Exception {
        FineTuneOptions ours = named(
                "{\"lora_rank\": 8, \"lora_alpha\": 16, \"lora_targets\": [\"q_proj\", \"v_proj\"], "
                        + "\"lora_dropout\": 0.05, \"epochs\": 2, \"learning_rate\": 1e-4, \"warmup_ratio\": 0.03, "
                        + "\"schedule\": \"constant_with_warmup\", \"weight_decay\": 0.0, \"max_grad_norm\": 0.3, \"max_seq_length\": 256}");
        FineTuneOptions trl =
                named("{\"lora_r\": 8, \"lora_alpha\": 16, \"lora_target_modules\": [\"v_proj\", \"q_proj\"], "
                        + "\"lora_dropout\": 0.05, \"num_train_epochs\": 2, \"learning_rate\": 1e-4, \"warmup_ratio\": 0.03, "
                        + "\"lr_scheduler_type\": \"constant_with_warmup\", \"weight_decay\": 0.0, \"max_grad_norm\": 0.3, "
                        + "\"max_length\": 256, \"loss_type\": \"dft\"}");
        assertEquals(ours.hyperparameters(), trl.hyperparameters());
        assertEquals(0.05, trl.loraDropout());
        assertEquals(LrSchedule.CONSTANT_WITH_WARMUP, trl.schedule());
        assertEquals(8, trl.loraRank());
        assertEquals(List.of("q_proj", "v_proj"), List.copyOf(trl.loraTargets()));
        assertEquals(0.3, trl.maxGradNorm());
        assertEquals(0.0, trl.weightDecay());
        assertEquals(256, trl.maxSeqLength());
        assertEquals(Objective.DFT, trl.objective());
        assertEquals(0.0, named("{}").loraDropout(), "PEFT's default: no dropout");
        // PEFT's target_modules too, and the rank under both names is one setting
        assertEquals(
                List.of("c_attn"),
                List.copyOf(named("{\"target_modules\": [\"c_attn\"]}").loraTargets()));
        InvalidHyperparameterException e =
                assertThrows(InvalidHyperparameterException.class, () -> named("{\"lora_r\": 8, \"lora_rank\": 4}"));
        assertTrue(e.getMessage().contains("name the same setting"), e.getMessage());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"lora_dropout\": 1.5}"));
        assertEquals("lora_dropout", e.name());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"full\": true, \"lora_dropout\": 0.1}"));
        assertTrue(e.getMessage().contains("full and lora_dropout"), e.getMessage());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"lr_scheduler_type\": \"polynomial\"}"));
        assertTrue(e.getMessage().contains("constant_with_warmup"), e.getMessage());
    }

    @Test
    void badNamesAndValuesAreClearErrors() {
        InvalidHyperparameterException e =
                assertThrows(InvalidHyperparameterException.class, () -> named("{\"max_steps\": \"4\"}"));
        assertEquals("option max_steps must be an integer, found \"4\"", e.getMessage());
        assertEquals("max_steps", e.name());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"epochs\": 2, \"num_train_epochs\": 3}"));
        assertTrue(e.getMessage().contains("name the same setting"), e.getMessage());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"learning_rate\": 5}"));
        assertEquals("learning_rate", e.name());
        assertTrue(e.getMessage().contains("learning rate must be in (0, 1)"), e.getMessage());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"loss_type\": \"dpo\"}"));
        assertTrue(e.getMessage().contains("\"dft\" or \"nll\""), e.getMessage());
        e = assertThrows(
                InvalidHyperparameterException.class,
                () -> named("{\"batch_size\": 8, \"gradient_accumulation_steps\": 2}"));
        assertTrue(e.getMessage().contains("do not go together"), e.getMessage());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"full\": true, \"lora_rank\": 4}"));
        assertTrue(e.getMessage().contains("full and lora_rank"), e.getMessage());
        e = assertThrows(InvalidHyperparameterException.class, () -> named("{\"lora_rnak\": 4}"));
        assertTrue(e.getMessage().contains("\"lora_rnak\" is unknown"), e.getMessage());
    }
}
