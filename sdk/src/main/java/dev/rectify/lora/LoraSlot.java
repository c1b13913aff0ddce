package dev.rectify.lora;

/**
 * One projection of a multi-adapter serving graph that adapters may adapt: A [r, in] and B [out, r] are optional
 * graph inputs named as PEFT names them, with rank-0 defaults.
 *
 * @param module      module path, e.g. {@code model.layers.0.self_attn.q_proj}
 * @param inFeatures  columns of A
 * @param outFeatures rows of B
 */
public record LoraSlot(String module, long inFeatures, long outFeatures) {
    /** The input (and PEFT tensor) name of A. */
    public String loraA() {
        return LoraTarget.loraAName(module);
    }

    /** The input (and PEFT tensor) name of B. */
    public String loraB() {
        return LoraTarget.loraBName(module);
    }
}
