package dev.rectify.adapter;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Generator;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.lora.AdapterMismatchException;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.MergedWeightsGraph;
import dev.rectify.lora.ServingGraphCache;
import dev.rectify.lora.ServingLayout;
import dev.rectify.model.BaseModel;
import dev.rectify.model.BundledModel;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.RunOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One base model serving any number of LoRA adapters, switched per request, the way vLLM and LoRAX do: a single
 * inference session over the base's KV-cache export with optional LoRA inputs ({@link dev.rectify.lora.MultiLoraGraph},
 * built once per base and cached on disk), adapters kept in an {@link AdapterStore} and loaded into an
 * {@link AdapterCache}. A request names its adapter (or null for the base); the adapter is activated through ORT run
 * options for that request only, so concurrent requests with different adapters are safe. Memory grows by the
 * adapters' size, never by copies of the base.
 *
 * <p>Hot adapters take a fast path. Each LoRA branch adds kernels (two MatMuls and an Add per projection), which on
 * a small, dispatch-bound base costs a third of the decode speed. So when the base is small enough (its export at
 * most {@link Builder#mergedBytes} and its target weights float32), a second session serves a
 * {@link MergedWeightsGraph}: the base graph whose target weights are overridable inputs. An adapter requested
 * again while still loaded is merged (W + s·B·A, the merged model's weights) into an ORT adapter of those weights,
 * kept in a second cache bounded by {@code mergedBytes}, and its requests run the base's kernels only. A first
 * request, or any request when the fast path is off, runs on the branches; both give the merged model's logits.
 * Memory: the fast path adds one session over the base's weights and, per hot adapter, its merged target weights.
 * <pre>{@code
 * try (MultiLoraModel m = MultiLoraModel.builder(base).store(AdapterStore.defaultStore()).build()) {
 *     String id = m.register(adapter);
 *     m.generate(id, "What is 17 + 25?", Sampling.greedy().maxNewTokens(32));
 * }}</pre>
 */
public final class MultiLoraModel implements AutoCloseable {
    private final BaseModel base;
    private final AdapterStore store;
    private final ServingLayout layout;
    private final InferenceSession session;
    private final Generator generator;
    private final AdapterCache cache;
    private final String baseHash;
    private final InferenceSession mergedSession;
    private final Generator mergedGenerator;
    private final AdapterCache mergedCache;

    private MultiLoraModel(Builder b) {
        this.base = b.base;
        this.store = b.store != null ? b.store : AdapterStore.defaultStore();
        this.baseHash = base.contentHash();
        Path export = Path.of(base.decodeSession().source());
        Path graphs = b.graphCache != null ? b.graphCache : BundledModel.home().resolve("serving");
        ServingGraphCache.Entry e = ServingGraphCache.at(graphs).getOrBuild(export, b.targets);
        this.layout = e.layout();
        this.session = InferenceSession.open(e.model(), base.device().sessionConfig());
        InferenceSession merged = null;
        AdapterCache cache = null;
        try {
            this.generator = generatorOn(session);
            cache = AdapterCache.builder(store)
                    .layout(layout)
                    .baseModelHash(baseHash)
                    .maximumBytes(b.cacheBytes)
                    .build();
            this.cache = cache;
            MergedWeightsGraph g = mergedWeightsGraph(export, b.targets, b.mergedBytes);
            if (g != null) {
                merged = InferenceSession.fromBytes(
                        g.model().toBytes(), "merged-weights", base.device().sessionConfig());
                this.mergedGenerator = generatorOn(merged);
                this.mergedCache = AdapterCache.builder(store)
                        .converter(a -> {
                            AdapterLayouts.check(layout, a);
                            return g.toOnnxAdapter(
                                    a.id(), a.rank(), a.alpha(), a.weights().values());
                        })
                        .baseModelHash(baseHash)
                        .maximumBytes(b.mergedBytes)
                        .build();
            } else {
                this.mergedGenerator = null;
                this.mergedCache = null;
            }
            this.mergedSession = merged;
        } catch (RuntimeException ex) {
            if (cache != null) {
                cache.close();
            }
            if (merged != null) {
                merged.close();
            }
            session.close();
            throw ex;
        }
    }

    private Generator generatorOn(InferenceSession s) {
        return base.generatorOn(s);
    }

    /** The fast path's graph, or null when the base is too large for it or its weights do not qualify. */
    private static MergedWeightsGraph mergedWeightsGraph(Path export, Set<String> targets, long mergedBytes) {
        try {
            if (mergedBytes <= 0 || Files.size(export) > mergedBytes) {
                return null;
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot read the size of " + export, ex);
        }
        OnnxModel model = OnnxModel.read(export);
        if (model.hasExternalData()) {
            return null;
        }
        return MergedWeightsGraph.build(model, targets)
                .filter(g -> g.adapterBytes() <= mergedBytes)
                .orElse(null);
    }

    /** A builder for serving {@code base} (which must stay open while this model is used). */
    public static Builder builder(BaseModel base) {
        return new Builder(base);
    }

    /**
     * Checks {@code adapter} against this base (same base model hash; every tensor names a served module with the
     * base's shapes and the declared rank) and stores it. Returns its id. Throws {@link AdapterMismatchException}.
     */
    public String register(Adapter adapter) {
        if (!adapter.baseModelHash().equals(baseHash)) {
            throw new AdapterMismatchException(
                    AdapterMismatchException.Reason.OTHER_BASE,
                    "adapter "
                            + adapter.id()
                                    .substring(0, Math.min(12, adapter.id().length())) + " was trained on base model "
                            + adapter.baseModelHash()
                                    .substring(
                                            0,
                                            Math.min(12, adapter.baseModelHash().length())) + ", not "
                            + base.directory() + " (" + baseHash.substring(0, 12) + ")");
        }
        AdapterLayouts.check(layout, adapter);
        return store.put(adapter);
    }

    /**
     * Registers a PEFT adapter folder (made by Rectify or elsewhere, e.g. Hugging Face PEFT for the same base): a
     * foreign adapter is declared for this base, and its tensor names and shapes are checked against it.
     */
    public String registerPeft(Path folder) {
        return register(AdapterFiles.read(folder, baseHash));
    }

    /**
     * Generates for tokenized prompts with adapter {@code adapterId}, or the base when it is null. Base requests run
     * on the base model's own session: the serving session computes exactly the same logits without an adapter,
     * but its LoRA branches (empty, yet still dispatched) cost time on small models. An adapter runs on the
     * merged-weights fast path when it is hot there or was loaded before (see the class comment), else on the
     * branches.
     */
    public List<Generation> generate(
            String adapterId, List<long[]> prompts, Sampling sampling, TokenListener listener) {
        if (adapterId == null) {
            return base.generator().generate(prompts, sampling, listener, null);
        }
        boolean hot = mergedCache != null && (mergedCache.isLoaded(adapterId) || cache.isLoaded(adapterId));
        try (AdapterCache.Lease lease = hot ? mergedCache.acquire(adapterId) : cache.acquire(adapterId);
                RunOptions ro = new RunOptions().activate(lease.nativeAdapter())) {
            return (hot ? mergedGenerator : generator).generate(prompts, sampling, listener, ro);
        }
    }

    /** Whether adapter {@code id}'s merged weights are loaded for the fast path. */
    public boolean isHot(String id) {
        return mergedCache != null && mergedCache.isLoaded(id);
    }

    /** Whether this model has the merged-weights fast path (see the class comment). */
    public boolean hasFastPath() {
        return mergedCache != null;
    }

    /** Statistics of the fast path's cache of merged weights (null without a fast path). */
    public AdapterCache.Stats mergedCacheStats() {
        return mergedCache == null ? null : mergedCache.stats();
    }

    /** The fast path's session (null without one). */
    InferenceSession mergedSession() {
        return mergedSession;
    }

    /** The fast path's adapters: merged weights by id (null without one). */
    AdapterCache mergedCache() {
        return mergedCache;
    }

    /** Generates a completion of a raw text prompt with adapter {@code adapterId} (null: the base). */
    public Generation generate(String adapterId, String prompt, Sampling sampling) {
        List<long[]> ids = new ArrayList<>(1);
        ids.add(base.encodePrompt(Objects.requireNonNull(prompt, "prompt")));
        return generate(adapterId, ids, sampling, (i, t) -> {}).get(0);
    }

    /** Pins an adapter in the store and in memory (never evicted, cannot be deleted until unpinned). */
    public void pin(String adapterId) {
        store.pin(adapterId);
        cache.pin(adapterId);
    }

    public void unpin(String adapterId) {
        store.unpin(adapterId);
        cache.unpin(adapterId);
    }

    /** Deletes an adapter from the store and from memory; false if it was not stored. */
    public boolean delete(String adapterId) {
        boolean deleted = store.delete(adapterId);
        cache.invalidate(adapterId);
        if (mergedCache != null) {
            mergedCache.invalidate(adapterId);
        }
        return deleted;
    }

    /** The single session serving the base and every adapter. */
    public InferenceSession session() {
        return session;
    }

    public ServingLayout layout() {
        return layout;
    }

    public AdapterCache cache() {
        return cache;
    }

    public AdapterStore store() {
        return store;
    }

    public BaseModel base() {
        return base;
    }

    /** The generator over the serving session (pass run options to apply an adapter). */
    public Generator generator() {
        return generator;
    }

    @Override
    public void close() {
        cache.close();
        session.close();
        if (mergedCache != null) {
            mergedCache.close();
            mergedSession.close();
        }
    }

    /** Builder for {@link MultiLoraModel}. */
    public static final class Builder {
        private final BaseModel base;
        private AdapterStore store;
        private long cacheBytes = 256L << 20;
        private long mergedBytes = 256L << 20;
        private Set<String> targets = new LinkedHashSet<>(LoraConfig.LLAMA_TARGETS);
        private Path graphCache;

        private Builder(BaseModel base) {
            this.base = Objects.requireNonNull(base, "base");
            targets.addAll(LoraConfig.GPT2_TARGETS);
        }

        /** Where adapters are stored (default {@link AdapterStore#defaultStore()}). */
        public Builder store(AdapterStore store) {
            this.store = store;
            return this;
        }

        /** Bound on the native bytes of loaded, unpinned adapters (default 256 MiB). */
        public Builder cacheBytes(long bytes) {
            this.cacheBytes = bytes;
            return this;
        }

        /**
         * Bound on the native bytes of hot adapters' merged weights (default 256 MiB); the fast path exists only for
         * a base whose export is at most this size. 0 turns it off (every adapter request runs on the branches).
         */
        public Builder mergedBytes(long bytes) {
            if (bytes < 0) {
                throw new InvalidArgumentException("merged-weights cache size must be >= 0 bytes, got " + bytes);
            }
            this.mergedBytes = bytes;
            return this;
        }

        /** Module names adapters may adapt (default: the Llama and GPT-2 projections the model has). */
        public Builder targetModules(Set<String> modules) {
            this.targets = new LinkedHashSet<>(modules);
            return this;
        }

        /** Where serving graphs are cached (default {@code <rectify home>/serving}). */
        public Builder graphCache(Path dir) {
            this.graphCache = dir;
            return this;
        }

        public MultiLoraModel build() {
            return new MultiLoraModel(this);
        }
    }
}
