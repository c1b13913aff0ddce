package dev.rectify.generate;

import dev.rectify.core.ModelFormatException;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.ValueInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The inputs and outputs of an exported causal LM, checked: token ids in, logits out, optional attention mask
 * and position ids, and an optional KV cache. Conventions are read from the graph: ids, mask and positions in
 * int32 or int64; logits and KV cache in float32, float16 or bfloat16; the KV cache either one tensor per layer
 * and kind (Optimum, GenAI: {@code past_key_values.N.key/value} in, {@code present.N.key/value} out) or stacked
 * (ONNX Runtime GPT-2: {@code past_N} of shape [2, batch, heads, past, head_dim] in, {@code present_N} out). Names
 * come from {@link ModelConfig#ioNames()}. In the stacked layout the per-kind name lists are empty and
 * {@link #pastStackedNames()} holds the inputs.
 */
public record CausalLmSignature(
        boolean hasAttentionMask,
        boolean hasPositionIds,
        int layers,
        int kvHeads,
        int headDim,
        List<String> pastKeyNames,
        List<String> pastValueNames,
        List<String> presentKeyNames,
        List<String> presentValueNames,
        IoNames names,
        ElementType idType,
        ElementType maskType,
        ElementType positionType,
        ElementType logitsType,
        ElementType kvType,
        List<String> pastStackedNames,
        List<String> presentStackedNames) {

    private static final Set<ElementType> INTS = Set.of(ElementType.INT32, ElementType.INT64);
    private static final Set<ElementType> FLOATS = Set.of(ElementType.FLOAT, ElementType.FLOAT16, ElementType.BFLOAT16);

    /** Whether the export takes and returns a KV cache. */
    public boolean hasKvCache() {
        return layers > 0;
    }

    /** Whether the KV cache is one [2, batch, heads, past, head_dim] tensor per layer. */
    public boolean stackedKv() {
        return !pastStackedNames.isEmpty();
    }

    /** Inspects a session; {@code config} gives the names and fills KV sizes the graph leaves symbolic. */
    public static CausalLmSignature of(InferenceSession s, ModelConfig config) {
        IoNames n = config.ioNames();
        ValueInfo ids = s.input(n.inputIds());
        if (ids == null) {
            throw new ModelFormatException(s.source() + ": not a causal LM export: it has no '" + n.inputIds()
                    + "' input (inputs: " + names(s.inputs()) + ")");
        }
        if (!INTS.contains(ids.type()) || ids.rank() != 2) {
            throw new ModelFormatException(
                    s.source() + ": '" + n.inputIds() + "' must be int32 or int64 [batch, sequence], is " + ids);
        }
        ValueInfo logits = s.outputs().stream()
                .filter(o -> o.name().equals(n.logits()))
                .findFirst()
                .orElse(null);
        if (logits == null) {
            throw new ModelFormatException(s.source() + ": not a causal LM export: it has no '" + n.logits()
                    + "' output (outputs: " + names(s.outputs()) + ")");
        }
        if (!FLOATS.contains(logits.type()) || logits.rank() != 3) {
            throw new ModelFormatException(s.source() + ": output '" + n.logits()
                    + "' must be float32, float16 or bfloat16 " + "[batch, sequence, vocab], is " + logits);
        }
        ElementType maskType = intInput(s, n.attentionMask());
        ElementType posType = intInput(s, n.positionIds());
        Pattern key = IoNames.pattern(n.pastKey());
        Pattern value = IoNames.pattern(n.pastValue());
        Pattern stacked = IoNames.pattern(n.pastStacked());
        TreeMap<Integer, String[]> separate = new TreeMap<>();
        TreeMap<Integer, String> packed = new TreeMap<>();
        Map<String, ValueInfo> kvInputs = new HashMap<>();
        for (ValueInfo in : s.inputs()) {
            String name = in.name();
            Matcher mk = key.matcher(name);
            Matcher mv = value.matcher(name);
            Matcher ms = stacked.matcher(name);
            if (mk.matches() || mv.matches()) {
                int layer = Integer.parseInt(mk.matches() ? mk.group(1) : mv.group(1));
                separate.computeIfAbsent(layer, k -> new String[2])[mk.matches() ? 0 : 1] = name;
                kvInputs.put(name, in);
            } else if (ms.matches()) {
                packed.put(Integer.parseInt(ms.group(1)), name);
                kvInputs.put(name, in);
            } else if (!List.of(n.inputIds(), n.attentionMask(), n.positionIds())
                    .contains(name)) {
                throw new ModelFormatException(s.source() + ": unexpected input '" + name
                        + "' for a causal LM (expected " + String.join(", ", n.inputNames()) + "; %d is the layer)");
            }
        }
        if (!separate.isEmpty() && !packed.isEmpty()) {
            throw new ModelFormatException(s.source() + ": mixes separate KV inputs ("
                    + separate.firstEntry().getValue()[0] + ") and stacked ones ("
                    + packed.firstEntry().getValue() + "); use one layout");
        }
        ElementType kvType = null;
        int kvHeads = -1;
        int headDim = -1;
        List<String> pk = new ArrayList<>();
        List<String> pv = new ArrayList<>();
        List<String> ok = new ArrayList<>();
        List<String> ov = new ArrayList<>();
        List<String> ps = new ArrayList<>();
        List<String> os = new ArrayList<>();
        int expected = 0;
        for (var e : separate.entrySet()) {
            int l = e.getKey();
            String[] kv = e.getValue();
            if (l != expected++ || kv[0] == null || kv[1] == null) {
                throw new ModelFormatException(s.source() + ": KV cache inputs are incomplete at layer " + l
                        + " (expected " + IoNames.name(n.pastKey(), expected - 1) + " and "
                        + IoNames.name(n.pastValue(), expected - 1) + ")");
            }
            String[] present = {IoNames.name(n.presentKey(), l), IoNames.name(n.presentValue(), l)};
            for (int i = 0; i < 2; i++) {
                ValueInfo in = kvInputs.get(kv[i]);
                if (in.rank() != 4) {
                    throw new ModelFormatException(
                            s.source() + ": KV input " + in + " must be [batch, heads, past, head_dim]");
                }
                kvType = kvType(s, in, kvType);
                checkPresent(s, in, present[i]);
                kvHeads = in.shape()[1] > 0 ? (int) in.shape()[1] : kvHeads;
                headDim = in.shape()[3] > 0 ? (int) in.shape()[3] : headDim;
            }
            pk.add(kv[0]);
            pv.add(kv[1]);
            ok.add(present[0]);
            ov.add(present[1]);
        }
        expected = 0;
        for (var e : packed.entrySet()) {
            int l = e.getKey();
            ValueInfo in = kvInputs.get(e.getValue());
            if (l != expected++) {
                throw new ModelFormatException(s.source() + ": stacked KV inputs are incomplete: no "
                        + IoNames.name(n.pastStacked(), expected - 1));
            }
            if (in.rank() != 5 || (in.shape()[0] > 0 && in.shape()[0] != 2)) {
                throw new ModelFormatException(s.source() + ": stacked KV input " + in
                        + " must be [2, batch, heads, past, head_dim] (keys then values)");
            }
            kvType = kvType(s, in, kvType);
            String present = IoNames.name(n.presentStacked(), l);
            checkPresent(s, in, present);
            kvHeads = in.shape()[2] > 0 ? (int) in.shape()[2] : kvHeads;
            headDim = in.shape()[4] > 0 ? (int) in.shape()[4] : headDim;
            ps.add(e.getValue());
            os.add(present);
        }
        int layers = Math.max(separate.size(), packed.size());
        if (layers > 0) {
            kvHeads = kvHeads > 0 ? kvHeads : config.numKeyValueHeads();
            headDim = headDim > 0 ? headDim : config.headDim();
            if (kvHeads <= 0 || headDim <= 0) {
                throw new ModelFormatException(
                        s.source() + ": KV cache sizes are symbolic and the folder's config does not "
                                + "give them (config.json num_key_value_heads/head_dim, or genai_config.json's decoder "
                                + "num_key_value_heads/head_size)");
            }
        }
        return new CausalLmSignature(
                maskType != null,
                posType != null,
                layers,
                kvHeads,
                headDim,
                List.copyOf(pk),
                List.copyOf(pv),
                List.copyOf(ok),
                List.copyOf(ov),
                n,
                ids.type(),
                maskType,
                posType,
                logits.type(),
                kvType,
                List.copyOf(ps),
                List.copyOf(os));
    }

    private static ElementType intInput(InferenceSession s, String name) {
        ValueInfo in = s.input(name);
        if (in == null) {
            return null;
        }
        if (!INTS.contains(in.type()) || in.rank() != 2) {
            throw new ModelFormatException(
                    s.source() + ": input '" + name + "' must be int32 or int64 [batch, length], is " + in);
        }
        return in.type();
    }

    private static ElementType kvType(InferenceSession s, ValueInfo in, ElementType seen) {
        if (!FLOATS.contains(in.type())) {
            throw new ModelFormatException(s.source() + ": KV input " + in + " must be float32, float16 or bfloat16");
        }
        if (seen != null && seen != in.type()) {
            throw new ModelFormatException(s.source() + ": KV input " + in + " is " + in.type()
                    + " but other KV inputs are " + seen + "; one type for the whole cache is supported");
        }
        return in.type();
    }

    private static void checkPresent(InferenceSession s, ValueInfo past, String present) {
        ValueInfo out = s.outputs().stream()
                .filter(o -> o.name().equals(present))
                .findFirst()
                .orElse(null);
        if (out == null) {
            throw new ModelFormatException(s.source() + ": has KV input " + past.name() + " but no output " + present
                    + " (outputs: " + names(s.outputs()) + ")");
        }
        if (out.type() != past.type() || out.rank() != past.rank()) {
            throw new ModelFormatException(s.source() + ": KV output " + out + " must match its input " + past
                    + " in type and rank (it is fed back unchanged)");
        }
    }

    private static List<String> names(List<ValueInfo> infos) {
        return infos.stream().map(ValueInfo::name).toList();
    }
}
