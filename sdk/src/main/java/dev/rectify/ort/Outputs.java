package dev.rectify.ort;

import dev.rectify.core.InvalidArgumentException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The tensors one run produced, by output name. Closing closes every tensor not {@link #take taken}. */
public final class Outputs implements AutoCloseable {
    private final Map<String, Tensor> tensors;

    Outputs(Map<String, Tensor> tensors) {
        this.tensors = new LinkedHashMap<>(tensors);
    }

    /** The output of that name; it stays owned by this object. */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new InvalidArgumentException("no output named '" + name + "' in " + tensors.keySet());
        }
        return t;
    }

    /** Removes the output from this object: the caller now owns and must close it (for example a KV cache). */
    public Tensor take(String name) {
        Tensor t = get(name);
        tensors.remove(name);
        return t;
    }

    /** Output names still held. */
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
        tensors.clear();
    }
}
