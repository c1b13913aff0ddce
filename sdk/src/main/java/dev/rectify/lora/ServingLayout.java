package dev.rectify.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.ModelFormatException;
import dev.rectify.lora.AdapterMismatchException.Reason;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a multi-adapter serving graph accepts: its {@link LoraSlot}s by module and the name of the scale input.
 * It checks an adapter against the base ({@link #check}) and turns it into the {@code .onnx_adapter} bytes whose
 * parameters override the graph's optional inputs ({@link #toOnnxAdapter}).
 */
public final class ServingLayout {
    /** Name of the scale input (float [1], default 0) that multiplies every LoRA branch. */
    public static final String SCALE_INPUT = "rectify.lora_scale";

    private final Map<String, LoraSlot> slots;

    public ServingLayout(Collection<LoraSlot> slots) {
        Map<String, LoraSlot> m = new LinkedHashMap<>();
        slots.forEach(s -> m.put(s.module(), s));
        this.slots = Collections.unmodifiableMap(m);
    }

    /** Slots by module path, in graph order. */
    public Map<String, LoraSlot> slots() {
        return slots;
    }

    /**
     * Checks that adapter {@code id} ({@code lora}: not a full fine-tune) is a LoRA adapter of rank {@code r} whose every tensor names a slot of this graph with the shape
     * [rank, in] (A) or [out, rank] (B), A and B in pairs. Throws {@link AdapterMismatchException} otherwise.
     */
    public void check(String id, boolean lora, int r, Map<String, float[]> values, Map<String, long[]> shapes) {
        String who = "adapter " + id.substring(0, Math.min(12, id.length()));
        if (!lora) {
            throw new AdapterMismatchException(
                    Reason.NOT_LORA,
                    who + " is a full fine-tune, not LoRA: serve it as a merged "
                            + "model (AdaptedModel.of(base, adapter) or MergedModelExport)");
        }
        if (values.isEmpty()) {
            throw new AdapterMismatchException(Reason.MISSING_TENSOR, who + " has no tensors");
        }
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            String name = e.getKey();
            boolean isA = name.endsWith(".lora_A.weight");
            if (!isA && !name.endsWith(".lora_B.weight") || !name.startsWith("base_model.model.")) {
                throw new AdapterMismatchException(
                        Reason.UNKNOWN_MODULE,
                        who + ": tensor " + name
                                + " is not a PEFT LoRA weight (base_model.model.<module>.lora_A.weight / lora_B.weight)");
            }
            String module = name.substring("base_model.model.".length(), name.length() - ".lora_A.weight".length());
            LoraSlot slot = slots.get(module);
            if (slot == null) {
                throw new AdapterMismatchException(
                        Reason.UNKNOWN_MODULE,
                        who + ": tensor " + name + " adapts module '"
                                + module
                                + "', which this base model does not have (or does not serve); an adapter for another "
                                + "base? Served modules look like "
                                + slots.keySet().stream().limit(3).toList());
            }
            String partner = isA ? slot.loraB() : slot.loraA();
            if (!values.containsKey(partner)) {
                throw new AdapterMismatchException(
                        Reason.MISSING_TENSOR, who + ": " + name + " has no partner " + partner);
            }
            long[] s = shapes.get(name);
            if (s == null || s.length != 2 || s[0] * s[1] != e.getValue().length) {
                throw new AdapterMismatchException(
                        Reason.SHAPE_MISMATCH,
                        who + ": tensor " + name + " has shape " + Arrays.toString(s) + " for " + e.getValue().length
                                + " values");
            }
            long rank = isA ? s[0] : s[1];
            long features = isA ? s[1] : s[0];
            long expected = isA ? slot.inFeatures() : slot.outFeatures();
            if (rank != r) {
                throw new AdapterMismatchException(
                        Reason.RANK_MISMATCH,
                        who + ": tensor " + name + " has rank " + rank + " (shape " + Arrays.toString(s)
                                + "), the adapter declares r = " + r);
            }
            if (features != expected) {
                throw new AdapterMismatchException(
                        Reason.SHAPE_MISMATCH,
                        who + ": tensor " + name + " has shape "
                                + Arrays.toString(s) + "; module " + module + " of this base needs "
                                + (isA ? "[" + r + ", " + expected + "]" : "[" + expected + ", " + r + "]")
                                + ": an adapter for another base?");
            }
        }
    }

    /** The scale the branch is multiplied by: alpha / r. */
    public static float scale(double alpha, int rank) {
        return (float) (alpha / rank);
    }

    /** Checks a LoRA adapter's tensors and serializes its A, B and scale as an {@code .onnx_adapter} for this graph. */
    public byte[] toOnnxAdapter(
            String id, int rank, double alpha, Map<String, float[]> weights, Map<String, long[]> shapes) {
        check(id, true, rank, weights, shapes);
        Map<String, float[]> values = new TreeMap<>(weights);
        Map<String, long[]> dims = new TreeMap<>(shapes);
        values.put(SCALE_INPUT, new float[] {scale(alpha, rank)});
        dims.put(SCALE_INPUT, new long[] {1});
        return OnnxAdapterFormat.write(values, dims, 1, 1);
    }

    /** The layout as JSON (stored beside a cached serving graph). */
    public String toJson() {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.put("scale_input", SCALE_INPUT);
        ArrayNode a = root.putArray("slots");
        for (LoraSlot s : slots.values()) {
            a.addObject().put("module", s.module()).put("in", s.inFeatures()).put("out", s.outFeatures());
        }
        return root.toPrettyString();
    }

    /** Parses {@link #toJson()}. */
    public static ServingLayout fromJson(String text, String what) {
        try {
            JsonNode root = new ObjectMapper().readTree(text);
            List<LoraSlot> slots = new ArrayList<>();
            for (JsonNode s : root.path("slots")) {
                slots.add(new LoraSlot(
                        s.get("module").asText(),
                        s.get("in").asLong(),
                        s.get("out").asLong()));
            }
            if (slots.isEmpty()) {
                throw new ModelFormatException(what + ": a serving layout with no slots");
            }
            return new ServingLayout(slots);
        } catch (IOException | NullPointerException e) {
            throw new ModelFormatException(what + ": unreadable serving layout: " + e.getMessage(), e);
        }
    }
}
