package dev.rectify.lora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * PEFT's {@code adapter_config.json} for a LoRA adapter, with every field of PEFT's {@code LoraConfig.to_dict()}
 * (PEFT 0.13's schema: {@code PeftConfig}'s fields plus {@code LoraConfig}'s, {@code runtime_config} removed) at the
 * value PEFT writes for a plain LoRA adapter trained for causal LM, so {@code PeftConfig.from_pretrained} and
 * {@code AutoPeftModelForCausalLM} read it as their own. Newer PEFT versions add fields with defaults and accept this
 * file unchanged; older ones reject unknown keys, which is why nothing beyond that schema is written.
 */
public final class PeftAdapterConfig {
    /** Every key written, in PEFT's order. */
    public static final List<String> KEYS = List.of(
            "alpha_pattern",
            "auto_mapping",
            "base_model_name_or_path",
            "bias",
            "fan_in_fan_out",
            "inference_mode",
            "init_lora_weights",
            "layer_replication",
            "layers_pattern",
            "layers_to_transform",
            "loftq_config",
            "lora_alpha",
            "lora_dropout",
            "megatron_config",
            "megatron_core",
            "modules_to_save",
            "peft_type",
            "r",
            "rank_pattern",
            "revision",
            "target_modules",
            "task_type",
            "use_dora",
            "use_rslora",
            "exclude_modules");

    /**
     * Hugging Face model types whose projections are {@code transformers.pytorch_utils.Conv1D} (weight [in, out]):
     * PEFT sets {@code fan_in_fan_out} to true for their LoRA layers and writes it so.
     */
    public static final Set<String> CONV1D_MODEL_TYPES =
            Set.of("gpt2", "openai-gpt", "imagegpt", "decision_transformer");

    private PeftAdapterConfig() {}

    /** PEFT's {@code fan_in_fan_out} for an adapter of a base of {@code modelType} (config.json's model_type). */
    public static boolean fanInFanOut(String modelType) {
        return modelType != null && CONV1D_MODEL_TYPES.contains(modelType.toLowerCase(Locale.ROOT));
    }

    /**
     * The configuration of a LoRA adapter of rank {@code r} and scale {@code alpha} on {@code targetModules};
     * {@code baseModelNameOrPath} is the base's Hugging Face id or folder (null when unknown, as PEFT allows).
     */
    public static ObjectNode of(
            int r,
            double alpha,
            double dropout,
            boolean fanInFanOut,
            Collection<String> targetModules,
            String baseModelNameOrPath) {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putObject("alpha_pattern");
        c.putNull("auto_mapping");
        if (baseModelNameOrPath == null) {
            c.putNull("base_model_name_or_path");
        } else {
            c.put("base_model_name_or_path", baseModelNameOrPath);
        }
        c.put("bias", "none");
        c.put("fan_in_fan_out", fanInFanOut);
        c.put("inference_mode", true);
        c.put("init_lora_weights", true);
        c.putNull("layer_replication");
        c.putNull("layers_pattern");
        c.putNull("layers_to_transform");
        c.putObject("loftq_config");
        if (alpha == Math.rint(alpha) && Math.abs(alpha) < Integer.MAX_VALUE) {
            c.put("lora_alpha", (int) alpha); // PEFT's field is an int; 32.0 would read back as a float
        } else {
            c.put("lora_alpha", alpha);
        }
        c.put("lora_dropout", dropout);
        c.putNull("megatron_config");
        c.put("megatron_core", "megatron.core");
        c.putNull("modules_to_save");
        c.put("peft_type", "LORA");
        c.put("r", r);
        c.putObject("rank_pattern");
        c.putNull("revision");
        ArrayNode t = c.putArray("target_modules");
        new TreeSet<>(targetModules).forEach(t::add);
        c.put("task_type", "CAUSAL_LM");
        c.put("use_dora", false);
        c.put("use_rslora", false);
        c.putNull("exclude_modules");
        return c;
    }
}
