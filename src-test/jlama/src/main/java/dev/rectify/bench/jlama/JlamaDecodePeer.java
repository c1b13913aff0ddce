package dev.rectify.bench.jlama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import com.github.tjake.jlama.util.MachineSpec;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Jlama peer of the decode benchmark: greedy decoding with Jlama's KV cache, batch 1, on a Hugging Face Llama
 * safetensors folder (written from the bundled model's ONNX weights by {@code src-test/bench/onnx_to_hf_llama.py}).
 * Same protocol as {@code torch_decode_peer.py}: the prompts are token ids (Rectify's own encoding, so all engines
 * see the same tokens), end-of-sequence is ignored, every prompt yields exactly {@code --max-new-tokens} tokens.
 * Prefill is Jlama's {@code batchForward} over the prompt, each next token one {@code forward} step; the token is
 * Jlama's own {@code sample} at temperature 0 (argmax). The thread count is Jlama's {@link PhysicalCoreExecutor}
 * pool, which runs all of its parallel kernels; it must be set before any Jlama class starts that pool.
 * <pre>java --add-modules jdk.incubator.vector -cp ... dev.rectify.bench.jlama.JlamaDecodePeer PROMPTS.json
 *     --model-dir DIR [--threads 2] [--max-new-tokens 64] [--warmup 2] [--runs 5]</pre>
 * The last line of stdout is one JSON object (decode_tokens_per_s, first_token_latency_ms, outputs, ...).
 */
public final class JlamaDecodePeer {
    private JlamaDecodePeer() {}

    /** One decoded prompt: its new tokens and the nanoseconds to the first token and to the last. */
    private record Decoded(int[] tokens, long firstNanos, long totalNanos) {}

    public static void main(String[] args) throws Exception {
        Path prompts = null;
        Path modelDir = null;
        int threads = 2;
        int maxNew = 64;
        int warmup = 2;
        int runs = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model-dir" -> modelDir = Path.of(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--max-new-tokens" -> maxNew = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                default -> {
                    if (args[i].startsWith("--") || prompts != null) {
                        throw new IllegalArgumentException("unknown argument " + args[i]);
                    }
                    prompts = Path.of(args[i]);
                }
            }
        }
        if (prompts == null || modelDir == null) {
            throw new IllegalArgumentException("usage: JlamaDecodePeer PROMPTS.json --model-dir DIR [--threads N] ...");
        }
        if (!Files.isRegularFile(modelDir.resolve("model.safetensors"))) {
            throw new IllegalArgumentException(modelDir + ": no model.safetensors (write it with onnx_to_hf_llama.py)");
        }
        PhysicalCoreExecutor.overrideThreadCount(threads);
        List<int[]> ids = readPrompts(prompts);

        AbstractModel model = ModelSupport.loadModel(new File(modelDir.toString()), DType.F32, DType.F32);
        int pool = PhysicalCoreExecutor.instance.get().getCoreCount();
        System.out.printf(
                "jlama: %s, java %s, vector type %s, executor threads %d, model dtype %s, working dtype %s%n",
                model.getClass().getSimpleName(),
                Runtime.version(),
                MachineSpec.VECTOR_TYPE,
                pool,
                model.getWeights().getModelDType(),
                model.getWorkingDType());
        List<Double> tps = new ArrayList<>();
        List<Double> firstMs = new ArrayList<>();
        List<int[]> outputs = new ArrayList<>();
        try (KvBufferCache cache = new KvBufferCache(model)) {
            for (int r = 0; r < warmup + runs; r++) {
                long decodeNanos = 0;
                long decodeTokens = 0;
                double first = 0;
                outputs.clear();
                for (int[] p : ids) {
                    Decoded d = decode(model, cache, p, maxNew);
                    decodeNanos += d.totalNanos() - d.firstNanos();
                    decodeTokens += d.tokens().length - 1;
                    first += d.firstNanos() / 1e6;
                    outputs.add(d.tokens());
                }
                if (r >= warmup) {
                    tps.add(decodeTokens / (decodeNanos / 1e9));
                    firstMs.add(first / ids.size());
                    System.out.printf(
                            "run: first token %.2f ms, decode %.1f tok/s%n",
                            firstMs.get(firstMs.size() - 1), tps.get(tps.size() - 1));
                }
            }
        }
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("peer", "jlama");
        result.put("decode_tokens_per_s", Math.round(median(tps) * 100) / 100.0);
        result.put("first_token_latency_ms", Math.round(median(firstMs) * 1000) / 1000.0);
        result.put("best_decode_tokens_per_s", Math.round(Collections.max(tps) * 100) / 100.0);
        result.put("best_first_token_latency_ms", Math.round(Collections.min(firstMs) * 1000) / 1000.0);
        result.put("threads", pool);
        result.put("jlama", jlamaVersion());
        result.put("java", Runtime.version().toString());
        result.put("vector_type", String.valueOf(MachineSpec.VECTOR_TYPE));
        result.put("prompts", ids.size());
        result.put("max_new_tokens", maxNew);
        result.put("runs", runs);
        result.put("outputs", outputs);
        System.out.println(new ObjectMapper().writeValueAsString(result));
        System.exit(0); // Jlama's executor threads are not daemons
    }

    /** Greedy decode of one prompt from an empty KV cache, ignoring end-of-sequence. */
    private static Decoded decode(AbstractModel model, KvBufferCache cache, int[] prompt, int maxNew) {
        int[] out = new int[maxNew];
        long t0 = System.nanoTime();
        long first;
        try (KvBufferCache.KvBuffer kv = cache.getEphemeralKvBuffer();
                AbstractTensor logits = model.makeDenseTensor(1, model.getConfig().vocabularySize)) {
            AbstractTensor last = model.batchForward(prompt, 0, kv);
            out[0] = model.sample(last.slice(last.shape().first() - 1), 0f, 0f, logits);
            last.close();
            first = System.nanoTime() - t0;
            for (int i = 1; i < maxNew; i++) {
                AbstractTensor h = model.forward(out[i - 1], prompt.length + i - 1, kv, Optional.empty());
                out[i] = model.sample(h, 0f, 0f, logits);
                h.close();
            }
        }
        return new Decoded(out, first, System.nanoTime() - t0);
    }

    private static List<int[]> readPrompts(Path file) throws Exception {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        JsonNode list = root.isObject() ? root.path("prompts") : root;
        if (!list.isArray() || list.isEmpty()) {
            throw new IllegalArgumentException(file + ": expected a non-empty list of token-id lists under prompts");
        }
        List<int[]> out = new ArrayList<>();
        for (JsonNode p : list) {
            JsonNode ids = p.isObject() ? p.path("input_ids") : p;
            int[] a = new int[ids.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = ids.get(i).asInt();
            }
            out.add(a);
        }
        return out;
    }

    /** jlama-core's version from the pom.properties Maven packs into its jar. */
    private static String jlamaVersion() throws IOException {
        Properties p = new Properties();
        try (InputStream in =
                AbstractModel.class.getResourceAsStream("/META-INF/maven/com.github.tjake/jlama-core/pom.properties")) {
            if (in != null) {
                p.load(in);
            }
        }
        return p.getProperty("version", "?");
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
