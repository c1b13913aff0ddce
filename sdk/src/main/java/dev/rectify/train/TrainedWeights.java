package dev.rectify.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Trained tensors by name (LoRA A/B, or fully fine-tuned weights), with their shapes. */
public record TrainedWeights(Map<String, float[]> values, Map<String, long[]> shapes) {
    public TrainedWeights {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        shapes = Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
    }

    /** Number of trained parameters. */
    public long parameterCount() {
        return values.values().stream().mapToLong(v -> v.length).sum();
    }
}
