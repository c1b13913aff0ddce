package dev.rectify.bench;

import dev.rectify.Rectify;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterCache;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.adapter.MergedModelExport;
import dev.rectify.adapter.MultiLoraModel;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.core.io.ContentHash;
import dev.rectify.data.JsonlDataset;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Generator;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.lora.LoraConfig;
import dev.rectify.lora.LoraInjector;
import dev.rectify.lora.LoraTarget;
import dev.rectify.model.BaseModel;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.ort.Device;
import dev.rectify.ort.OrtRuntime;
import dev.rectify.ort.RunOptions;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainedWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Adapter serving benchmark on the bundled model (batch 1, greedy, KV cache): the per-request cost of activating an
 * adapter on the shared multi-LoRA session, decode tokens/s of the base and of an adapter on that session against
 * the plain base and a merged model, the cost of an identical fine-tune request served from the adapter store, and
 * the alternative of switching adapters by loading a merged model. Also the resident memory of 50 adapters on one
 * session against merged copies (run with a fixed, pre-touched heap for that figure to mean anything).
 * <pre>java -cp ... dev.rectify.bench.AdapterBench [--threads 2] [--adapters 50] [--rank 8] [--max-new-tokens 64] [--runs 5]</pre>
 */
public final class AdapterBench {
    private static final List<String> QUESTIONS = List.of(
            "What is 47 + 38?",
            "Compute 23 x 4.",
            "What is 52 - 17?",
            "Mia has 25 stickers. Mia finds 17 more stickers. Mia gives away 9 stickers. How many stickers does Mia have now?");

    public static void main(String[] args) throws Exception {
        int threads = 2;
        int nAdapters = 50;
        int rank = 8;
        int maxNew = 64;
        int runs = 5;
        Path work = null;
        boolean decodeOnly = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--adapters" -> nAdapters = Integer.parseInt(args[++i]);
                case "--rank" -> rank = Integer.parseInt(args[++i]);
                case "--max-new-tokens" -> maxNew = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                case "--decode-only" -> decodeOnly = true;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (work == null) {
            work = Files.createTempDirectory("rectify-adapter-bench");
        }
        Device dev = Device.cpu(threads);
        System.out.printf(
                "adapter benchmark: ONNX Runtime %s, %s, %d cores visible, heap max %d MB, %d adapters of rank %d "
                        + "on all 7 projections, batch 1, greedy, KV cache, %d new tokens, %d timed runs (medians)%n",
                OrtRuntime.get().version(),
                dev,
                Runtime.getRuntime().availableProcessors(),
                Runtime.getRuntime().maxMemory() >> 20,
                nAdapters,
                rank,
                maxNew,
                runs);
        try (BaseModel base = BaseModel.bundled(dev)) {
            AdapterStore store = AdapterStore.open(work.resolve("store"));
            long t0 = System.nanoTime();
            MultiLoraModel m = MultiLoraModel.builder(base)
                    .store(store)
                    .graphCache(work.resolve("graphs"))
                    .build();
            double coldBuildMs = ms(t0);
            m.close();
            t0 = System.nanoTime();
            m = MultiLoraModel.builder(base)
                    .store(store)
                    .graphCache(work.resolve("graphs"))
                    .build();
            double warmOpenMs = ms(t0);
            System.out.printf(
                    "serving graph: built and opened in %.0f ms (first time per base), reopened from the disk "
                            + "cache in %.0f ms%n",
                    coldBuildMs, warmOpenMs);
            try (MultiLoraModel mm = m) {
                List<String> ids = new ArrayList<>();
                List<Adapter> adapters = new ArrayList<>();
                for (int i = 0; i < nAdapters; i++) {
                    Adapter a = random(base, 500 + i, rank);
                    adapters.add(a);
                    ids.add(mm.register(a));
                }
                if (!decodeOnly) {
                    memory(base, mm, ids, adapters);
                    activation(mm, ids);
                }
                decode(base, mm, ids, adapters.get(0), maxNew, runs);
                if (!decodeOnly) {
                    fineTuneHit(base, work, adapters.get(0));
                }
            }
        }
    }

    private static void activation(MultiLoraModel m, List<String> ids) {
        AdapterCache cache = m.cache();
        ids.forEach(cache::invalidate);
        List<Double> cold = new ArrayList<>();
        for (String id : ids) {
            long t = System.nanoTime();
            cache.acquire(id).close();
            cold.add(us(t));
        }
        List<Double> hot = new ArrayList<>();
        for (int r = 0; r < 20; r++) {
            for (String id : ids) {
                long t = System.nanoTime();
                try (AdapterCache.Lease l = cache.acquire(id);
                        RunOptions ro = new RunOptions().activate(l.nativeAdapter())) {
                    if (ro.adapters().isEmpty()) {
                        throw new IllegalStateException();
                    }
                }
                hot.add(us(t));
            }
        }
        System.out.printf(
                "activation per request: %.1f us (cache hit: lease + RunOptions + AddActiveLoraAdapter, median of "
                        + "%d); first load of an adapter (store read with checksum, shape check, .onnx_adapter, ORT load): %.2f ms "
                        + "median%n",
                BenchSupport.median(hot), hot.size(), BenchSupport.median(cold) / 1000);
        // prefill-only request (1 new token): base vs adapter on the shared session
        long[] prompt = m.base()
                .tokenizer()
                .encode(m.base().applyChatTemplate(List.of(ChatMessage.user(QUESTIONS.get(3))), true));
        Sampling one = Sampling.greedy().maxNewTokens(1).stopAtEos(false);
        List<Double> baseReq = new ArrayList<>();
        List<Double> adReq = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            for (String id : ids) {
                long t = System.nanoTime();
                m.generate(null, List.of(prompt), one, TokenListener.none());
                baseReq.add(us(t));
                t = System.nanoTime();
                m.generate(id, List.of(prompt), one, TokenListener.none());
                adReq.add(us(t));
            }
        }
        System.out.printf(
                "one-token request (%d-token prompt), requests alternating across %d adapters: base %.2f ms, "
                        + "adapter %.2f ms (adapter activation and LoRA branches included)%n",
                prompt.length, ids.size(), BenchSupport.median(baseReq) / 1000, BenchSupport.median(adReq) / 1000);
    }

    private static void decode(
            BaseModel base, MultiLoraModel m, List<String> ids, Adapter merged, int maxNew, int runs) {
        List<long[]> prompts = new ArrayList<>();
        for (String q : QUESTIONS) {
            prompts.add(base.tokenizer().encode(base.applyChatTemplate(List.of(ChatMessage.user(q)), true)));
        }
        Sampling s = Sampling.greedy().maxNewTokens(maxNew).stopAtEos(false);
        try (AdaptedModel am = AdaptedModel.of(base, merged)) {
            Map<String, List<Double>> tps = new LinkedHashMap<>();
            for (String k : List.of(
                    "plain base session",
                    "multi-LoRA session, no adapter",
                    "multi-LoRA session, adapter",
                    "merged model (one session per adapter)",
                    "MultiLoraModel.generate(null): base",
                    "MultiLoraModel.generate(adapter): fast path")) {
                tps.put(k, new ArrayList<>());
            }
            for (int r = 0; r < 2 + runs; r++) {
                double[] got = {
                    tps(base.generator(), null, null, prompts, s),
                    tps(m.generator(), null, null, prompts, s),
                    tps(m.generator(), m.cache(), ids.get(0), prompts, s),
                    tps(am.generator(), null, null, prompts, s),
                    tpsApi(m, null, prompts, s),
                    tpsApi(m, ids.get(0), prompts, s)
                };
                if (r >= 2) {
                    int i = 0;
                    for (List<Double> l : tps.values()) {
                        l.add(got[i++]);
                    }
                }
            }
            System.out.printf(
                    "fast path: %s, adapter %s hot: %s, merged-weights cache %s%n",
                    m.hasFastPath(), ids.get(0).substring(0, 8), m.isHot(ids.get(0)), m.mergedCacheStats());
            List<Double> baseRuns = tps.get("plain base session");
            double ref = BenchSupport.median(baseRuns);
            for (var e : tps.entrySet()) {
                double v = BenchSupport.median(e.getValue());
                // the machine is noisy: also the median of the ratios to the base measured in the same round
                List<Double> ratios = new ArrayList<>();
                for (int i = 0; i < baseRuns.size(); i++) {
                    ratios.add(e.getValue().get(i) / baseRuns.get(i));
                }
                System.out.printf(
                        "decode %-52s %7.1f tokens/s  (%.3f x plain base; per-round ratio median %.3f)%n",
                        e.getKey() + ":", v, v / ref, BenchSupport.median(ratios));
            }
        }
    }

    private static double tpsApi(MultiLoraModel m, String id, List<long[]> prompts, Sampling s) {
        long tokens = 0;
        long nanos = 0;
        for (long[] p : prompts) {
            Generation gen = m.generate(id, List.of(p), s, TokenListener.none()).get(0);
            tokens += gen.completionTokens() - 1;
            nanos += gen.totalNanos() - gen.firstTokenNanos();
        }
        return tokens / (nanos / 1e9);
    }

    private static double tps(Generator g, AdapterCache cache, String id, List<long[]> prompts, Sampling s) {
        long tokens = 0;
        long nanos = 0;
        for (long[] p : prompts) {
            Generation gen;
            if (id == null) {
                gen = g.generate(List.of(p), s, TokenListener.none(), null).get(0);
            } else {
                try (AdapterCache.Lease l = cache.acquire(id);
                        RunOptions ro = new RunOptions().activate(l.nativeAdapter())) {
                    gen = g.generate(List.of(p), s, TokenListener.none(), ro).get(0);
                }
            }
            tokens += gen.completionTokens() - 1;
            nanos += gen.totalNanos() - gen.firstTokenNanos();
        }
        return tokens / (nanos / 1e9);
    }

    private static void memory(BaseModel base, MultiLoraModel m, List<String> ids, List<Adapter> adapters)
            throws Exception {
        long weights = adapters.stream().mapToLong(Adapter::byteSize).sum();
        // warm the serving session once (its arena), then load and serve every adapter for the first time
        m.generate(ids.get(0), List.of(new long[] {1, 2, 3}), Sampling.greedy().maxNewTokens(2), TokenListener.none());
        long r0 = rssKb();
        for (String id : ids) {
            m.generate(id, List.of(new long[] {1, 2, 3}), Sampling.greedy().maxNewTokens(2), TokenListener.none());
        }
        long r1 = rssKb();
        AdapterCache.Stats s = m.cache().stats();
        int copies = 5;
        List<AdaptedModel> merged = new ArrayList<>();
        long r2 = rssKb();
        for (int i = 0; i < copies; i++) {
            AdaptedModel am = AdaptedModel.of(base, adapters.get(i));
            am.generator()
                    .generate(
                            List.of(new long[] {1, 2, 3}),
                            Sampling.greedy().maxNewTokens(2),
                            TokenListener.none(),
                            null);
            merged.add(am);
        }
        long r3 = rssKb();
        merged.forEach(AdaptedModel::close);
        System.out.printf(
                "memory: %d adapters = %.1f MB of fp32 weights, %.1f MB held by ORT adapters; RSS grew %.1f MB "
                        + "loading and serving them (49 new) on one session. %d merged models (the alternative) grew RSS by "
                        + "%.1f MB, i.e. %.1f MB per adapter (%.0f MB for %d)%n",
                ids.size(),
                weights / 1e6,
                s.bytes() / 1e6,
                (r1 - r0) / 1024.0,
                copies,
                (r3 - r2) / 1024.0,
                (r3 - r2) / 1024.0 / copies,
                (r3 - r2) / 1024.0 / copies * ids.size(),
                ids.size());
    }

    private static void fineTuneHit(BaseModel base, Path work, Adapter someAdapter) {
        List<Example> data = JsonlDataset.read(Path.of("data/math/train.jsonl")).subList(0, 8);
        FineTuneOptions o = FineTuneOptions.builder()
                .objective(Objective.DFT)
                .lora(8, 16)
                .batchSize(4)
                .microBatchSize(2)
                .maxSeqLength(96)
                .learningRate(1e-3)
                .evalFraction(0)
                .seed(5)
                .maxSteps(4)
                .build();
        AdapterStore store = AdapterStore.open(work.resolve("ft-store"));
        long t = System.nanoTime();
        Adapter a = Rectify.fineTune(base, data, o, store);
        double trainMs = ms(t);
        List<Double> hit = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            t = System.nanoTime();
            Adapter b = Rectify.fineTune(base, data, o, store);
            hit.add(ms(t));
            if (!b.id().equals(a.id())) {
                throw new IllegalStateException("ids differ");
            }
        }
        // the alternative: switch to that adapter by loading a merged model
        Path exported = MergedModelExport.write(base, a, work.resolve("merged"));
        List<Double> mergeInMemory = new ArrayList<>();
        List<Double> openExported = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            t = System.nanoTime();
            try (AdaptedModel am = AdaptedModel.of(base, a)) {
                mergeInMemory.add(ms(t));
            }
            t = System.nanoTime();
            try (BaseModel bm = BaseModel.open(exported, base.device())) {
                openExported.add(ms(t));
            }
        }
        System.out.printf(
                "identical fine-tune request: trained in %.0f ms the first time; served from the store in %.1f ms "
                        + "(median of %d: content hash, store read, checksums)%n",
                trainMs, BenchSupport.median(hit), hit.size());
        System.out.printf(
                "switching to an adapter by reloading a merged model instead: merge in memory + new session "
                        + "%.0f ms (BaseModel.with), open an exported merged folder %.0f ms (BaseModel.open), vs activation on the "
                        + "shared session (above)%n",
                BenchSupport.median(mergeInMemory), BenchSupport.median(openExported));
    }

    /** A seeded random LoRA adapter of rank {@code r} on every Llama projection. */
    static Adapter random(BaseModel base, long seed, int r) {
        OnnxModel model = OnnxModel.read(base.directory().resolve("model.onnx"));
        List<LoraTarget> targets =
                LoraInjector.of(LoraConfig.builder().rank(r).build()).findTargets(model.graph());
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, float[]> v = new LinkedHashMap<>();
        Map<String, long[]> sh = new LinkedHashMap<>();
        for (LoraTarget t : targets) {
            v.put(t.loraA(), fill(rnd, r * (int) t.inFeatures(), 1 / Math.sqrt(t.inFeatures())));
            sh.put(t.loraA(), new long[] {r, t.inFeatures()});
            v.put(t.loraB(), fill(rnd, (int) t.outFeatures() * r, 0.05));
            sh.put(t.loraB(), new long[] {t.outFeatures(), r});
        }
        return Adapter.builder()
                .id(ContentHash.of("bench-random\n" + seed + "\n" + r))
                .baseModelHash(base.contentHash())
                .lora(r, 2.0 * r, LoraConfig.LLAMA_TARGETS)
                .weights(new TrainedWeights(v, sh))
                .recipe("random")
                .build();
    }

    private static float[] fill(SplittableRandom r, int n, double bound) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        }
        return x;
    }

    private static long rssKb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double us(long t0) {
        return (System.nanoTime() - t0) / 1e3;
    }

    private AdapterBench() {}
}
