package dev.rectify.generate;

import dev.rectify.core.ModelFormatException;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.ValueInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The inputs and outputs of an exported causal LM, checked: {@code input_ids} in, {@code logits} out, optional
 * {@code attention_mask} and {@code position_ids}, and an optional KV cache in Optimum's naming
 * ({@code past_key_values.N.key/value} in, {@code present.N.key/value} out).
 */
public record CausalLmSignature(boolean hasAttentionMask, boolean hasPositionIds, int layers, int kvHeads, int headDim,
        List<String> pastKeyNames, List<String> pastValueNames, List<String> presentKeyNames,
        List<String> presentValueNames) {

    private static final Pattern PAST = Pattern.compile("past_key_values\\.(\\d+)\\.(key|value)");

    /** Whether the export takes and returns a KV cache. */
    public boolean hasKvCache() {
        return layers > 0;
    }

    /** Inspects a session; {@code config} fills KV sizes the graph leaves symbolic. */
    public static CausalLmSignature of(InferenceSession s, ModelConfig config) {
        ValueInfo ids = s.input("input_ids");
        if (ids == null) {
            throw new ModelFormatException(s.source() + ": not a causal LM export: it has no 'input_ids' input (inputs: "
                    + names(s.inputs()) + ")");
        }
        if (ids.type() != ElementType.INT64 || ids.rank() != 2) {
            throw new ModelFormatException(s.source() + ": 'input_ids' must be int64 [batch, sequence], is " + ids);
        }
        if (!s.hasOutput("logits")) {
            throw new ModelFormatException(s.source() + ": not a causal LM export: it has no 'logits' output (outputs: "
                    + names(s.outputs()) + ")");
        }
        TreeMap<Integer, String[]> past = new TreeMap<>();
        int kvHeads = -1;
        int headDim = -1;
        for (ValueInfo in : s.inputs()) {
            Matcher m = PAST.matcher(in.name());
            if (m.matches()) {
                int layer = Integer.parseInt(m.group(1));
                past.computeIfAbsent(layer, k -> new String[2])[m.group(2).equals("key") ? 0 : 1] = in.name();
                if (in.rank() != 4) {
                    throw new ModelFormatException(s.source() + ": KV input " + in + " must be [batch, heads, past, head_dim]");
                }
                kvHeads = in.shape()[1] > 0 ? (int) in.shape()[1] : kvHeads;
                headDim = in.shape()[3] > 0 ? (int) in.shape()[3] : headDim;
            } else if (!List.of("input_ids", "attention_mask", "position_ids").contains(in.name())) {
                throw new ModelFormatException(s.source() + ": unexpected input '" + in.name()
                        + "' for a causal LM (expected input_ids, attention_mask, position_ids, past_key_values.N.key/value)");
            }
        }
        List<String> pk = new ArrayList<>();
        List<String> pv = new ArrayList<>();
        List<String> ok = new ArrayList<>();
        List<String> ov = new ArrayList<>();
        int expected = 0;
        for (var e : past.entrySet()) {
            if (e.getKey() != expected++ || e.getValue()[0] == null || e.getValue()[1] == null) {
                throw new ModelFormatException(s.source() + ": KV cache inputs are incomplete at layer " + e.getKey());
            }
            String pres = "present." + e.getKey();
            if (!s.hasOutput(pres + ".key") || !s.hasOutput(pres + ".value")) {
                throw new ModelFormatException(s.source() + ": has " + e.getValue()[0] + " but no " + pres + ".key/value output");
            }
            pk.add(e.getValue()[0]);
            pv.add(e.getValue()[1]);
            ok.add(pres + ".key");
            ov.add(pres + ".value");
        }
        if (!past.isEmpty()) {
            kvHeads = kvHeads > 0 ? kvHeads : config.numKeyValueHeads();
            headDim = headDim > 0 ? headDim : config.headDim();
            if (kvHeads <= 0 || headDim <= 0) {
                throw new ModelFormatException(s.source() + ": KV cache sizes are symbolic and config.json does not give "
                        + "num_key_value_heads/head_dim");
            }
        }
        return new CausalLmSignature(s.hasInput("attention_mask"), s.hasInput("position_ids"), past.size(),
                kvHeads, headDim, List.copyOf(pk), List.copyOf(pv), List.copyOf(ok), List.copyOf(ov));
    }

    private static List<String> names(List<ValueInfo> infos) {
        return infos.stream().map(ValueInfo::name).toList();
    }
}
