package dev.rectify.train;

import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/** A tiny fixed causal-LM batch (one left-padded row, masked prompt) and positional feeding. */
final class Batches {
    final int b;
    final int s;
    final long[] ids;
    final long[] mask;
    final long[] pos;
    final long[] labels;
    final int validTokens;
    /** What a float16 training model's {@code loss_scale} input gets. */
    float lossScale = 1f;

    Batches(long seed, int b, int s, int vocab) {
        this.b = b;
        this.s = s;
        Random r = new Random(seed);
        ids = new long[b * s];
        mask = new long[b * s];
        pos = new long[b * s];
        labels = new long[b * s];
        int valid = 0;
        for (int i = 0; i < b; i++) {
            int pad = i % 2 == 1 ? 2 : 0;
            int p = 0;
            for (int t = 0; t < s; t++) {
                int k = i * s + t;
                ids[k] = t < pad ? 0 : 1 + r.nextInt(vocab - 1);
                mask[k] = t < pad ? 0 : 1;
                pos[k] = t < pad ? 0 : p++;
            }
            for (int t = 0; t < s; t++) {
                int k = i * s + t;
                boolean target = t >= pad + 2 && t < s - 1;
                labels[k] = target ? ids[k + 1] : -100;
                valid += target ? 1 : 0;
            }
        }
        validTokens = valid;
    }

    private Batches(Batches o, long[] labels) {
        this.b = o.b;
        this.s = o.s;
        this.ids = o.ids;
        this.mask = o.mask;
        this.pos = o.pos;
        this.labels = labels;
        int v = 0;
        for (long l : labels) {
            v += l == -100 ? 0 : 1;
        }
        this.validTokens = v;
    }

    /** The same inputs with other labels. */
    Batches withLabels(long[] newLabels) {
        return new Batches(this, newLabels.clone());
    }

    /** The tensors for {@code names} in order (caller closes them). */
    List<Tensor> feeds(List<String> names, float denominator) {
        Map<String, Supplier<Tensor>> all = Map.of(
                "input_ids", () -> Tensor.ofLongs(ids, b, s),
                "attention_mask", () -> Tensor.ofLongs(mask, b, s),
                "position_ids", () -> Tensor.ofLongs(pos, b, s),
                "labels", () -> Tensor.ofLongs(labels, b, s),
                "loss_denominator", () -> Tensor.ofFloats(new float[] {denominator}, 1),
                "loss_scale", () -> Tensor.ofFloats(new float[] {lossScale}, 1));
        List<Tensor> out = new ArrayList<>();
        for (String n : names) {
            out.add(all.get(n).get());
        }
        return out;
    }

    static void close(List<Tensor> ts) {
        ts.forEach(Tensor::close);
    }
}
