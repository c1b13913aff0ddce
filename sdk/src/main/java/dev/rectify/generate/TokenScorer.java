package dev.rectify.generate;

import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores given continuations under a model: for every target token, its probability under teacher forcing. Works
 * on exports with or without a KV cache (an empty cache is fed), in any of the conventions
 * {@link CausalLmSignature} accepts; half-precision logits are widened to float32 before the softmax. The basis of held-out NLL, token accuracy and the
 * token-probability histograms of the DFT paper.
 */
public final class TokenScorer {
    private final InferenceSession session;
    private final CausalLmSignature sig;
    private final long padId;
    private final int vocabSize;

    public TokenScorer(InferenceSession session, CausalLmSignature sig, long padId) {
        this(session, sig, padId, -1);
    }

    /** @param vocabSize the model's vocabulary; token ids outside it are rejected ({@code -1}: not checked) */
    public TokenScorer(InferenceSession session, CausalLmSignature sig, long padId, int vocabSize) {
        this.session = session;
        this.sig = sig;
        this.padId = padId;
        this.vocabSize = vocabSize;
    }

    /** Per-sequence scores: the probability of each target token and whether it was the argmax. */
    public record Scores(double[] probabilities, boolean[] argmaxCorrect) {
        public double nllSum() {
            double s = 0;
            for (double p : probabilities) {
                s -= Math.log(Math.max(p, 1e-45));
            }
            return s;
        }
    }

    /**
     * Scores sequences: {@code target[t]} marks positions whose token is predicted from the prefix before it.
     * Sequences are scored in batches of {@code batchSize} (right-padded).
     */
    public List<Scores> score(List<long[]> ids, List<boolean[]> target, int batchSize) {
        List<Scores> out = new ArrayList<>(ids.size());
        for (int i = 0; i < ids.size(); i++) {
            ModelInputs.checkVocabulary("sequence " + i, ids.get(i), vocabSize);
        }
        for (int from = 0; from < ids.size(); from += batchSize) {
            int to = Math.min(ids.size(), from + batchSize);
            out.addAll(scoreBatch(ids.subList(from, to), target.subList(from, to)));
        }
        return out;
    }

    private List<Scores> scoreBatch(List<long[]> ids, List<boolean[]> target) {
        int b = ids.size();
        int len = 0;
        for (long[] s : ids) {
            len = Math.max(len, s.length);
        }
        long[] in = new long[b * len];
        long[] mask = new long[b * len];
        for (int i = 0; i < b; i++) {
            long[] s = ids.get(i);
            for (int t = 0; t < len; t++) {
                in[i * len + t] = t < s.length ? s[t] : padId;
                mask[i * len + t] = t < s.length ? 1 : 0;
            }
        }
        long[] pos = Generator.positions(mask, b, len);
        Map<String, Tensor> feeds = new HashMap<>();
        try (KvCache empty = KvCache.empty(sig, b);
                ModelInputs inputs = new ModelInputs(sig, feeds, b, in, len, mask, len, pos)) {
            empty.feed(feeds);
            try (Outputs o = session.run(feeds, List.of(sig.names().logits()))) {
                Tensor logits = ModelInputs.logits(sig, o);
                int v = (int) logits.dim(2);
                float[] row = new float[v];
                List<Scores> out = new ArrayList<>(b);
                for (int i = 0; i < b; i++) {
                    long[] s = ids.get(i);
                    boolean[] tg = target.get(i);
                    List<Double> probs = new ArrayList<>();
                    List<Boolean> correct = new ArrayList<>();
                    for (int t = 1; t < s.length; t++) {
                        if (!tg[t]) {
                            continue;
                        }
                        logits.readFloats(((long) (i * len) + t - 1) * v, row); // widened from float16/bfloat16
                        double max = Double.NEGATIVE_INFINITY;
                        int arg = 0;
                        for (int k = 0; k < v; k++) {
                            if (row[k] > max) {
                                max = row[k];
                                arg = k;
                            }
                        }
                        double sum = 0;
                        for (int k = 0; k < v; k++) {
                            sum += Math.exp(row[k] - max);
                        }
                        probs.add(Math.exp(row[(int) s[t]] - max) / sum);
                        correct.add(arg == s[t]);
                    }
                    double[] p = probs.stream().mapToDouble(Double::doubleValue).toArray();
                    boolean[] c = new boolean[correct.size()];
                    for (int k = 0; k < c.length; k++) {
                        c[k] = correct.get(k);
                    }
                    out.add(new Scores(p, c));
                }
                return out;
            }
        }
    }
}
