package dev.rectify.generate;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.RunOptions;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Autoregressive decoding over an exported causal LM: several prompts at once with left padding, the KV cache
 * when the export has one (else the whole sequence is recomputed each step), greedy or sampled tokens, stop
 * strings, end-of-sequence, a token budget, and streaming. Inputs and the KV cache are fed in the graph's own
 * types ({@link CausalLmSignature}); logits are read as float32. Stateless between calls and safe to share.
 */
public final class Generator {
    private final InferenceSession session;
    private final CausalLmSignature sig;
    private final Tokenizer tokenizer;
    private final Set<Long> eosIds;
    private final long padId;
    private final int contextLength;
    private final int vocab;
    private final boolean useCache;

    /**
     * @param contextLength the model's context window in tokens, or -1 when unknown (then only memory limits it)
     */
    public Generator(
            InferenceSession session,
            CausalLmSignature sig,
            Tokenizer tokenizer,
            Set<Long> eosIds,
            long padId,
            int contextLength,
            int vocabSize) {
        this(session, sig, tokenizer, eosIds, padId, contextLength, vocabSize, sig.hasKvCache());
    }

    private Generator(
            InferenceSession session,
            CausalLmSignature sig,
            Tokenizer tokenizer,
            Set<Long> eosIds,
            long padId,
            int contextLength,
            int vocabSize,
            boolean useCache) {
        this.useCache = useCache;
        this.session = Objects.requireNonNull(session);
        this.sig = Objects.requireNonNull(sig);
        this.tokenizer = Objects.requireNonNull(tokenizer);
        this.eosIds = Collections.unmodifiableSet(new LinkedHashSet<>(eosIds));
        this.padId = padId >= 0 ? padId : eosIds.stream().findFirst().orElse(0L);
        this.contextLength = contextLength;
        this.vocab = vocabSize;
    }

    /**
     * A generator that recomputes the whole sequence at every token even when the graph has a KV cache (which is
     * then fed empty): the reference that KV-cache decoding must equal.
     */
    public static Generator recomputing(
            InferenceSession session,
            CausalLmSignature sig,
            Tokenizer tokenizer,
            Set<Long> eosIds,
            long padId,
            int contextLength,
            int vocabSize) {
        return new Generator(session, sig, tokenizer, eosIds, padId, contextLength, vocabSize, false);
    }

    /** Whether this generator decodes with a KV cache. */
    public boolean usesKvCache() {
        return useCache;
    }

    /** Generates for each prompt (already tokenized); {@code runOptions} (adapters) may be null. */
    public List<Generation> generate(
            List<long[]> prompts, Sampling sampling, TokenListener listener, RunOptions runOptions) {
        if (prompts.isEmpty()) {
            throw new InvalidArgumentException("no prompts given");
        }
        long start = System.nanoTime();
        int b = prompts.size();
        int maxPrompt = 0;
        for (int i = 0; i < b; i++) {
            int n = prompts.get(i).length;
            if (n == 0) {
                throw new InvalidArgumentException("prompt " + i + " is empty after tokenization");
            }
            if (contextLength > 0 && n >= contextLength) {
                throw new ContextLengthException(i, n, contextLength);
            }
            ModelInputs.checkVocabulary("prompt " + i, prompts.get(i), vocab);
            maxPrompt = Math.max(maxPrompt, n);
        }
        int budget = sampling.maxNewTokens();
        if (contextLength > 0) {
            budget = Math.min(budget, contextLength - maxPrompt);
        }
        Row[] rows = new Row[b];
        for (int i = 0; i < b; i++) {
            rows[i] = new Row(
                    prompts.get(i),
                    new TokenPicker(sampling),
                    new TextStream(tokenizer, sampling.stop()),
                    sampling.stopAtEos(),
                    sampling.logprobs());
        }
        if (useCache) {
            decodeWithCache(rows, maxPrompt, budget, sampling, listener, runOptions);
        } else {
            decodeByRecompute(rows, maxPrompt, budget, sampling, listener, runOptions);
        }
        List<Generation> out = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            Row r = rows[i];
            FinishReason reason = r.reason != null
                    ? r.reason
                    : (r.generated < sampling.maxNewTokens() ? FinishReason.CONTEXT_FULL : FinishReason.MAX_TOKENS);
            String tail = r.text.flush();
            if (!tail.isEmpty()) {
                listener.onText(i, tail);
            }
            long first = r.firstTokenAt == 0 ? 0 : r.firstTokenAt - start;
            long end = (r.finishedAt == 0 ? System.nanoTime() : r.finishedAt) - start;
            out.add(new Generation(
                    r.text.finalText(),
                    r.text.ids(),
                    r.prompt.length,
                    reason,
                    first,
                    end,
                    r.logprobs == null ? null : List.copyOf(r.logprobs)));
        }
        return out;
    }

    private void decodeWithCache(
            Row[] rows, int maxPrompt, int budget, Sampling sampling, TokenListener listener, RunOptions runOptions) {
        int b = rows.length;
        int len = maxPrompt; // total sequence length fed so far (including left padding)
        try (KvCache cache = KvCache.empty(sig, b)) {
            long[] ids = leftPadded(rows, maxPrompt);
            long[] mask = maskOf(rows, maxPrompt);
            long[] pos = positions(mask, b, maxPrompt);
            int step = maxPrompt;
            List<String> outs = new ArrayList<>();
            outs.add(sig.names().logits());
            outs.addAll(cache.presentNames());
            for (int t = 0; t < budget; t++) {
                Map<String, Tensor> feeds = new HashMap<>();
                cache.feed(feeds);
                try (ModelInputs in = new ModelInputs(sig, feeds, b, ids, step, mask, len, pos);
                        Outputs o = session.run(feeds, outs, runOptions)) {
                    pickAll(rows, ModelInputs.logits(sig, o), step, listener);
                    cache.advance(o);
                }
                if (allDone(rows) || t == budget - 1) {
                    break;
                }
                // next step: one token per row
                long[] nextPos = new long[b];
                for (int i = 0; i < b; i++) {
                    nextPos[i] = pos[(i + 1) * step - 1] + 1;
                }
                ids = lastTokens(rows);
                mask = appendOnes(mask, b, len);
                len++;
                pos = nextPos;
                step = 1;
            }
        }
    }

    private void decodeByRecompute(
            Row[] rows, int maxPrompt, int budget, Sampling sampling, TokenListener listener, RunOptions runOptions) {
        int b = rows.length;
        for (int t = 0; t < budget; t++) {
            int len = maxPrompt + t;
            long[] ids = new long[b * len];
            long[] mask = new long[b * len];
            for (int i = 0; i < b; i++) {
                long[] seq = rows[i].sequence();
                int pad = len - seq.length;
                for (int j = 0; j < len; j++) {
                    ids[i * len + j] = j < pad ? padId : seq[j - pad];
                    mask[i * len + j] = j < pad ? 0 : 1;
                }
            }
            long[] pos = positions(mask, b, len);
            Map<String, Tensor> feeds = new HashMap<>();
            try (KvCache empty = KvCache.empty(sig, b);
                    ModelInputs in = new ModelInputs(sig, feeds, b, ids, len, mask, len, pos)) {
                empty.feed(feeds);
                try (Outputs o = session.run(feeds, List.of(sig.names().logits()), runOptions)) {
                    pickAll(rows, ModelInputs.logits(sig, o), len, listener);
                }
            }
            if (allDone(rows)) {
                break;
            }
        }
    }

    /** Picks the next token of every unfinished row from the last position's logits. */
    private void pickAll(Row[] rows, Tensor logits, int step, TokenListener listener) {
        int v = (int) logits.dim(2);
        if (vocab > 0 && v < vocab) {
            throw new InvalidArgumentException(
                    "logits have " + v + " entries per token, config.json says vocab_size " + vocab);
        }
        float[] row = new float[v];
        for (int i = 0; i < rows.length; i++) {
            Row r = rows[i];
            if (r.reason != null) {
                continue;
            }
            logits.readFloats(((long) (i * step) + step - 1) * v, row); // float16/bfloat16 logits are widened
            float[] raw = r.logprobs == null ? null : row.clone(); // the picker may scale and mask the row in place
            int token = r.picker.pick(row, 0, v);
            TokenLogprob lp = raw == null ? null : TokenLogprob.of(raw, 0, v, token, r.topLogprobs);
            long now = System.nanoTime();
            if (r.firstTokenAt == 0) {
                r.firstTokenAt = now;
            }
            r.last = token;
            r.generated++;
            if (eosIds.contains((long) token) && r.stopAtEos) {
                r.reason = FinishReason.EOS;
                r.finishedAt = now;
                continue;
            }
            r.appended.add((long) token);
            if (lp != null) {
                r.logprobs.add(lp);
            }
            String piece = r.text.push(token);
            if (!piece.isEmpty()) {
                listener.onText(i, piece);
            }
            if (r.text.stopped()) {
                r.reason = FinishReason.STOP_STRING;
                r.finishedAt = now;
            }
        }
    }

    private static boolean allDone(Row[] rows) {
        for (Row r : rows) {
            if (r.reason == null) {
                return false;
            }
        }
        return true;
    }

    private long[] leftPadded(Row[] rows, int len) {
        long[] ids = new long[rows.length * len];
        for (int i = 0; i < rows.length; i++) {
            long[] p = rows[i].prompt;
            int pad = len - p.length;
            for (int j = 0; j < len; j++) {
                ids[i * len + j] = j < pad ? padId : p[j - pad];
            }
        }
        return ids;
    }

    private static long[] maskOf(Row[] rows, int len) {
        long[] mask = new long[rows.length * len];
        for (int i = 0; i < rows.length; i++) {
            int pad = len - rows[i].prompt.length;
            for (int j = pad; j < len; j++) {
                mask[i * len + j] = 1;
            }
        }
        return mask;
    }

    /** Position ids as Hugging Face computes them: cumsum(mask) - 1, with 1 at padded positions. */
    static long[] positions(long[] mask, int b, int len) {
        long[] pos = new long[b * len];
        for (int i = 0; i < b; i++) {
            long c = 0;
            for (int j = 0; j < len; j++) {
                c += mask[i * len + j];
                pos[i * len + j] = mask[i * len + j] == 0 ? 1 : c - 1;
            }
        }
        return pos;
    }

    private long[] lastTokens(Row[] rows) {
        long[] ids = new long[rows.length];
        for (int i = 0; i < rows.length; i++) {
            ids[i] = rows[i].last >= 0 ? rows[i].last : padId;
        }
        return ids;
    }

    private static long[] appendOnes(long[] mask, int b, int len) {
        long[] out = new long[b * (len + 1)];
        for (int i = 0; i < b; i++) {
            System.arraycopy(mask, i * len, out, i * (len + 1), len);
            out[i * (len + 1) + len] = 1;
        }
        return out;
    }

    /** One sequence's decoding state. */
    private static final class Row {
        final long[] prompt;
        final TokenPicker picker;
        final TextStream text;
        final List<Long> appended = new ArrayList<>();
        final boolean stopAtEos;
        long last = -1;
        int generated;
        long firstTokenAt;
        long finishedAt;
        FinishReason reason;
        /** Each appended token's log-probability, when asked for; else null. */
        final List<TokenLogprob> logprobs;

        final int topLogprobs;

        Row(long[] prompt, TokenPicker picker, TextStream text, boolean stopAtEos, int logprobs) {
            this.prompt = prompt;
            this.logprobs = logprobs < 0 ? null : new ArrayList<>();
            this.topLogprobs = Math.max(0, logprobs);
            this.stopAtEos = stopAtEos;
            this.picker = picker;
            this.text = text;
        }

        long[] sequence() {
            long[] s = new long[prompt.length + appended.size()];
            System.arraycopy(prompt, 0, s, 0, prompt.length);
            for (int i = 0; i < appended.size(); i++) {
                s[prompt.length + i] = appended.get(i);
            }
            return s;
        }
    }
}
