package dev.rectify.generate;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The token inputs of one run of a causal LM (ids, attention mask, position ids), made in the element types and
 * under the names the graph declares; logits read back as float32 whatever the graph's type. Close it to free the
 * tensors.
 */
final class ModelInputs implements AutoCloseable {
    private final List<Tensor> owned = new ArrayList<>();

    /**
     * Feeds {@code ids} [batch, step], {@code mask} [batch, total] and {@code positions} [batch, step] into
     * {@code feeds}; the mask and positions only when the graph takes them.
     */
    ModelInputs(
            CausalLmSignature sig,
            Map<String, Tensor> feeds,
            int batch,
            long[] ids,
            int step,
            long[] mask,
            int total,
            long[] positions) {
        try {
            feeds.put(sig.names().inputIds(), own(tensor(sig.idType(), ids, batch, step)));
            if (sig.hasAttentionMask()) {
                feeds.put(sig.names().attentionMask(), own(tensor(sig.maskType(), mask, batch, total)));
            }
            if (sig.hasPositionIds()) {
                feeds.put(sig.names().positionIds(), own(tensor(sig.positionType(), positions, batch, step)));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /** An int32 or int64 tensor of {@code data}. */
    static Tensor tensor(ElementType type, long[] data, long... shape) {
        if (type == ElementType.INT64) {
            return Tensor.ofLongs(data, shape);
        }
        int[] ints = new int[data.length];
        for (int i = 0; i < data.length; i++) {
            if (data[i] != (int) data[i]) {
                throw new InvalidArgumentException("value " + data[i] + " does not fit the model's int32 input");
            }
            ints[i] = (int) data[i];
        }
        return Tensor.ofInts(ints, shape);
    }

    /**
     * Rejects token ids outside {@code [0, vocab)} ({@code vocab <= 0}: unknown, not checked). A tokenizer larger than
     * the model's embedding (tiny test checkpoints ship the full GPT-2 tokenizer) would otherwise fail deep inside
     * ONNX Runtime with "index out of range".
     */
    static void checkVocabulary(String what, long[] ids, int vocab) {
        if (vocab <= 0) {
            return;
        }
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= vocab) {
                throw new InvalidArgumentException(what + ", token " + t + ": id " + ids[t] + " is outside the model's "
                        + "vocabulary of " + vocab
                        + " tokens (its config's vocab_size); the tokenizer does not match the "
                        + "model, or the text uses tokens the model never learned");
            }
        }
    }

    /** The logits output of a run. */
    static Tensor logits(CausalLmSignature sig, Outputs o) {
        return o.get(sig.names().logits());
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
        owned.clear();
    }
}
