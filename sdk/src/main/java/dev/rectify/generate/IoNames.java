package dev.rectify.generate;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The names of a causal LM graph's inputs and outputs. The defaults are Hugging Face/Optimum's ({@code input_ids},
 * {@code past_key_values.%d.key} in, {@code present.%d.key} out) plus the stacked layout of ONNX Runtime's GPT-2
 * exports ({@code past_%d} in, {@code present_%d} out, each [2, batch, heads, past, head_dim]); an ONNX Runtime
 * GenAI config can rename any of them. Per-layer names are {@code String.format} templates with one {@code %d}.
 */
public record IoNames(
        String inputIds,
        String attentionMask,
        String positionIds,
        String logits,
        String pastKey,
        String pastValue,
        String presentKey,
        String presentValue,
        String pastStacked,
        String presentStacked) {

    /** Hugging Face / Optimum names and ONNX Runtime's stacked GPT-2 names. */
    public static IoNames defaults() {
        return new IoNames(
                "input_ids",
                "attention_mask",
                "position_ids",
                "logits",
                "past_key_values.%d.key",
                "past_key_values.%d.value",
                "present.%d.key",
                "present.%d.value",
                "past_%d",
                "present_%d");
    }

    /** The names Rectify knows for a decoder's inputs (for error messages). */
    public List<String> inputNames() {
        return List.of(inputIds, attentionMask, positionIds, pastKey, pastValue, pastStacked);
    }

    /** A pattern matching a template's names, with the layer number as group 1. */
    static Pattern pattern(String template) {
        String[] parts = template.split("%d", -1);
        if (parts.length != 2) {
            return Pattern.compile(Pattern.quote(template) + "(?!)"); // no layer placeholder: matches nothing
        }
        return Pattern.compile(List.of(parts).stream().map(Pattern::quote).collect(Collectors.joining("(\\d+)")));
    }

    /** A template's name for {@code layer}. */
    static String name(String template, int layer) {
        return template.replace("%d", Integer.toString(layer));
    }
}
