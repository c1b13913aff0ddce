package dev.rectify.ort;

import java.util.Arrays;
import java.util.List;

/**
 * A session input or output: its name, element type (null when it is not a tensor), and shape, where a
 * dimension is -1 when symbolic or unknown and {@code dimNames} then holds its symbol (or "").
 */
public record ValueInfo(String name, ElementType type, long[] shape, List<String> dimNames) {
    /** The rank, or -1 when it is not a tensor. */
    public int rank() {
        return shape == null ? -1 : shape.length;
    }

    @Override
    public String toString() {
        return name + ":" + type + (shape == null ? "" : Arrays.toString(shape));
    }
}
