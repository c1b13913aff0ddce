package dev.rectify.lora;

/**
 * One projection LoRA was injected into.
 *
 * @param module      the module path, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param baseWeight  the base weight tensor the projection multiplies by (an initializer name)
 * @param nodeName    the MatMul/Gemm node that was adapted
 * @param inFeatures  input features (columns of A)
 * @param outFeatures output features (rows of B)
 * @param loraA       PEFT name of A, [r, in]
 * @param loraB       PEFT name of B, [out, r]
 */
public record LoraTarget(
        String module,
        String baseWeight,
        String nodeName,
        long inFeatures,
        long outFeatures,
        String loraA,
        String loraB) {
    /** How every A's PEFT name ends. */
    public static final String LORA_A_SUFFIX = ".lora_A.weight";

    /** The PEFT name of A for {@code module}. */
    public static String loraAName(String module) {
        return "base_model.model." + module + LORA_A_SUFFIX;
    }

    /** The PEFT name of B for {@code module}. */
    public static String loraBName(String module) {
        return "base_model.model." + module + ".lora_B.weight";
    }
}
