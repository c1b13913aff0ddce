package dev.rectify.lora;

import dev.rectify.onnx.Graph;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Which projections LoRA adapts when the user names none. {@value #ALL_LINEAR} (PEFT's name) means every linear
 * projection — a MatMul/Gemm with a rank-2 float weight initializer — inside the decoder layers (a module path with a
 * layer index, such as {@code model.layers.3.mlp.up_proj} or {@code transformer.h.0.attn.c_attn}), never the head or
 * anything else outside the layers. {@link #resolve} turns a request into the concrete module names found in a
 * graph (what adapters record and serving matches): the model type's usual list when {@code config.json}'s
 * {@code model_type} is known and it matches the graph, otherwise every linear projection.
 */
public final class LoraTargets {
    /** Every linear projection inside the decoder layers (PEFT's {@code target_modules="all-linear"}). */
    public static final String ALL_LINEAR = "all-linear";

    private static final Set<String> HEADS = Set.of("lm_head", "embed_out", "output", "head", "score", "classifier");
    private static final List<String> LLAMA = List.copyOf(LoraConfig.LLAMA_TARGETS);
    /** Usual target lists by Hugging Face model_type (every projection of attention and MLP). */
    private static final Map<String, List<String>> BY_MODEL_TYPE = Map.ofEntries(
            Map.entry("llama", LLAMA),
            Map.entry("mistral", LLAMA),
            Map.entry("mixtral", LLAMA),
            Map.entry("qwen2", LLAMA),
            Map.entry("qwen3", LLAMA),
            Map.entry("gemma", LLAMA),
            Map.entry("gemma2", LLAMA),
            Map.entry("gemma3_text", LLAMA),
            Map.entry("granite", LLAMA),
            Map.entry("olmo", LLAMA),
            Map.entry("smollm3", LLAMA),
            Map.entry("phi3", List.of("qkv_proj", "o_proj", "gate_up_proj", "down_proj")),
            Map.entry("phi", List.of("q_proj", "k_proj", "v_proj", "dense", "fc1", "fc2")),
            Map.entry("gpt2", List.copyOf(LoraConfig.GPT2_TARGETS)),
            Map.entry("gpt_neox", List.of("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")),
            Map.entry("gptj", List.of("q_proj", "k_proj", "v_proj", "out_proj", "fc_in", "fc_out")),
            Map.entry("falcon", List.of("query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h")));

    private LoraTargets() {}

    /** The usual targets for a Hugging Face {@code model_type}, or an empty list when it is not known here. */
    public static List<String> forModelType(String modelType) {
        return modelType == null
                ? List.of()
                : BY_MODEL_TYPE.getOrDefault(modelType.toLowerCase(Locale.ROOT), List.of());
    }

    /** Whether {@code modulePath} (dot-separated) lies inside a decoder layer and is not a head. */
    public static boolean isLayerProjection(String modulePath) {
        String[] parts = modulePath.split("\\.");
        if (parts.length < 2 || HEADS.contains(parts[parts.length - 1])) {
            return false;
        }
        for (int i = 0; i < parts.length - 1; i++) {
            if (!parts[i].isEmpty() && parts[i].chars().allMatch(Character::isDigit)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The concrete module names to adapt in {@code graph}: {@code requested} as given unless it is empty or
     * {@value #ALL_LINEAR}; then the model type's usual list where it is known and matches a projection, else the
     * last path components of every linear projection in the decoder layers. Throws {@link NoLoraTargetException}
     * when the graph has none.
     */
    public static Set<String> resolve(Graph graph, Set<String> requested, String modelType) {
        if (requested != null && !requested.isEmpty() && !requested.contains(ALL_LINEAR)) {
            return new LinkedHashSet<>(requested);
        }
        List<String> usual = forModelType(modelType);
        if (!usual.isEmpty()) {
            LoraConfig c = LoraConfig.builder().rank(1).targetModules(usual).build();
            if (!LoraInjector.of(c).findTargets(graph).isEmpty()) {
                return new LinkedHashSet<>(usual);
            }
        }
        LoraConfig all = LoraConfig.builder().rank(1).targetModules(ALL_LINEAR).build();
        List<LoraTarget> found = LoraInjector.of(all).findTargets(graph);
        if (found.isEmpty()) {
            throw new NoLoraTargetException("no linear projection inside the decoder layers: LoRA's default targets "
                    + "(" + ALL_LINEAR + ") are MatMul/Gemm nodes with a rank-2 float weight whose module path (weight "
                    + "name '<module>.weight' or node name '/<module path>/MatMul') has a layer index. Name the targets "
                    + "(--lora-targets / lora_targets) or re-export with module names kept");
        }
        Set<String> names = new LinkedHashSet<>();
        for (LoraTarget t : found) {
            String m = t.module();
            names.add(m.substring(m.lastIndexOf('.') + 1));
        }
        return names;
    }
}
