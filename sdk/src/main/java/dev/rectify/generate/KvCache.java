package dev.rectify.generate;

import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The past key/value tensors of one decoding run, in the graph's own layout and element type: starts empty (past
 * length 0, as for a graph whose KV cache is always an input) and takes each run's present outputs as the next
 * past, unconverted. Not thread-safe; close it to free the tensors.
 */
final class KvCache implements AutoCloseable {
    private final CausalLmSignature sig;
    private final Map<String, Tensor> past = new LinkedHashMap<>();

    private KvCache(CausalLmSignature sig) {
        this.sig = sig;
    }

    /** An empty cache (past length 0) for {@code batch} rows; no tensors when the graph has no KV cache. */
    static KvCache empty(CausalLmSignature sig, int batch) {
        KvCache c = new KvCache(sig);
        try {
            if (sig.stackedKv()) {
                for (String name : sig.pastStackedNames()) {
                    c.past.put(name, Tensor.zeros(sig.kvType(), 2, batch, sig.kvHeads(), 0, sig.headDim()));
                }
            } else {
                for (int l = 0; l < sig.layers(); l++) {
                    c.past.put(
                            sig.pastKeyNames().get(l),
                            Tensor.zeros(sig.kvType(), batch, sig.kvHeads(), 0, sig.headDim()));
                    c.past.put(
                            sig.pastValueNames().get(l),
                            Tensor.zeros(sig.kvType(), batch, sig.kvHeads(), 0, sig.headDim()));
                }
            }
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Adds the past tensors to a run's feeds. */
    void feed(Map<String, Tensor> feeds) {
        feeds.putAll(past);
    }

    /** The present outputs a run must return. */
    List<String> presentNames() {
        List<String> out = new ArrayList<>();
        if (sig.stackedKv()) {
            out.addAll(sig.presentStackedNames());
        } else {
            out.addAll(sig.presentKeyNames());
            out.addAll(sig.presentValueNames());
        }
        return out;
    }

    /** Replaces the past with a run's present outputs (taken from {@code o}, not copied). */
    void advance(Outputs o) {
        if (sig.stackedKv()) {
            for (int l = 0; l < sig.layers(); l++) {
                swap(
                        sig.pastStackedNames().get(l),
                        o.take(sig.presentStackedNames().get(l)));
            }
        } else {
            for (int l = 0; l < sig.layers(); l++) {
                swap(sig.pastKeyNames().get(l), o.take(sig.presentKeyNames().get(l)));
                swap(sig.pastValueNames().get(l), o.take(sig.presentValueNames().get(l)));
            }
        }
    }

    private void swap(String name, Tensor replacement) {
        Tensor old = past.put(name, replacement);
        if (old != null) {
            old.close();
        }
    }

    @Override
    public void close() {
        past.values().forEach(Tensor::close);
        past.clear();
    }
}
