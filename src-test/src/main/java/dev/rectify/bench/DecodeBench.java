package dev.rectify.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.core.ChatMessage;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import dev.rectify.ort.OrtRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Decode benchmark: greedy decoding with the KV cache on the bundled model, batch 1, the same prompt token ids and
 * token counts for Rectify (ONNX Runtime), the PyTorch peer ({@code src-test/bench/torch_decode_peer.py}) and, on
 * CPU, the Jlama peer (module {@code src-test/jlama}, Java 21+, its own JVM, reading the same weights written as a
 * Hugging Face safetensors folder), run one after the other. Prints decode tokens/s, first-token latency, ratios,
 * and whether each peer's greedy tokens equal Rectify's.
 * <pre>java -cp ... dev.rectify.bench.DecodeBench [--threads 2] [--max-new-tokens 64] [--runs 5] [--device cpu|cuda]
 *     [--jlama-java JAVA --jlama-classpath CP --jlama-model DIR]</pre>
 * Without {@code --jlama-classpath} Jlama is left out; {@code src-test/bench/decode-bench.sh} supplies all three.
 */
public final class DecodeBench {
    private static final List<String> QUESTIONS = List.of(
            "What is 47 + 38?",
            "Compute 23 x 4.",
            "What is 52 - 17?",
            "Mia has 25 stickers. Mia finds 17 more stickers. Mia gives away 9 stickers. How many stickers does Mia have now?");

    public static void main(String[] args) throws Exception {
        int threads = 2;
        int maxNew = 64;
        int runs = 5;
        int warmup = 2;
        String device = "cpu";
        Path model = null;
        String jlamaJava = "java";
        String jlamaClasspath = null;
        String jlamaModel = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--max-new-tokens" -> maxNew = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--device" -> device = args[++i];
                case "--model" -> model = Path.of(args[++i]);
                case "--jlama-java" -> jlamaJava = args[++i];
                case "--jlama-classpath" -> jlamaClasspath = args[++i];
                case "--jlama-model" -> jlamaModel = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Device dev = device.startsWith("cuda") ? Device.cuda(0) : Device.cpu(threads);
        System.out.printf(
                "decode benchmark: ONNX Runtime %s, device %s, %d threads, %d prompts, %d new tokens each, "
                        + "%d warmup + %d timed runs, batch 1, greedy, KV cache%n",
                OrtRuntime.get().version(), dev, threads, QUESTIONS.size(), maxNew, warmup, runs);
        try (BaseModel m = model == null ? BaseModel.bundled(dev) : BaseModel.open(model, dev)) {
            List<long[]> prompts = new ArrayList<>();
            for (String q : QUESTIONS) {
                prompts.add(m.tokenizer().encode(m.applyChatTemplate(List.of(ChatMessage.user(q)), true)));
            }
            Sampling s = Sampling.greedy().maxNewTokens(maxNew).stopAtEos(false);
            List<Double> tps = new ArrayList<>();
            List<Double> firstMs = new ArrayList<>();
            List<long[]> outputs = new ArrayList<>();
            for (int r = 0; r < warmup + runs; r++) {
                long tokens = 0;
                long decodeNanos = 0;
                double first = 0;
                outputs.clear();
                for (long[] p : prompts) {
                    Generation g = m.generator()
                            .generate(List.of(p), s, TokenListener.none(), null)
                            .get(0);
                    tokens += g.completionTokens() - 1;
                    decodeNanos += g.totalNanos() - g.firstTokenNanos();
                    first += g.firstTokenNanos() / 1e6;
                    outputs.add(g.tokenIds());
                }
                if (r >= warmup) {
                    tps.add(tokens / (decodeNanos / 1e9));
                    firstMs.add(first / prompts.size());
                }
            }
            double rTps = BenchSupport.median(tps);
            double rFirst = BenchSupport.median(firstMs);
            System.out.printf("rectify: decode %.1f tokens/s, first-token latency %.2f ms%n", rTps, rFirst);

            Path promptsFile = Files.createTempFile("rectify-bench-prompts", ".json");
            Files.writeString(promptsFile, new ObjectMapper().writeValueAsString(Map.of("prompts", prompts)));
            List<String> cmd = new ArrayList<>(List.of(
                    BenchSupport.python(),
                    Path.of("src-test/bench/torch_decode_peer.py").toString(),
                    promptsFile.toString()));
            List<String> protocol = List.of(
                    "--threads",
                    String.valueOf(threads),
                    "--max-new-tokens",
                    String.valueOf(maxNew),
                    "--runs",
                    String.valueOf(runs),
                    "--warmup",
                    String.valueOf(warmup));
            cmd.addAll(protocol);
            cmd.addAll(List.of("--device", device.startsWith("cuda") ? "cuda" : "cpu"));
            JsonNode peer = BenchSupport.runPeer(cmd);
            JsonNode jlama = null;
            if (jlamaClasspath != null && !device.startsWith("cuda")) {
                List<String> jcmd = new ArrayList<>(List.of(
                        jlamaJava,
                        "--add-modules",
                        "jdk.incubator.vector",
                        "--enable-native-access=ALL-UNNAMED",
                        "-Djava.util.concurrent.ForkJoinPool.common.parallelism=" + threads,
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        "-cp",
                        jlamaClasspath,
                        "dev.rectify.bench.jlama.JlamaDecodePeer",
                        promptsFile.toString(),
                        "--model-dir",
                        jlamaModel));
                jcmd.addAll(protocol);
                jlama = BenchSupport.runPeer(jcmd);
            }
            Files.deleteIfExists(promptsFile);
            System.out.println();
            System.out.println(
                    "Medians of the timed runs (best run in brackets: on a loaded machine the least disturbed).");
            System.out.println("| system | decode tokens/s | first-token latency (ms) | greedy tokens vs Rectify |");
            System.out.println("|---|---|---|---|");
            System.out.printf(
                    "| Rectify (ORT %s, %s) | %.1f (%.1f) | %.2f (%.2f) | - |%n",
                    OrtRuntime.get().version(), dev, rTps, Collections.max(tps), rFirst, Collections.min(firstMs));
            printPeerRow(
                    "PyTorch " + peer.path("torch").asText("?") + " (" + device + ", "
                            + peer.path("threads").asInt() + " threads)",
                    peer,
                    outputs);
            if (jlama != null) {
                printPeerRow(
                        "Jlama " + jlama.path("jlama").asText("?") + " (Java "
                                + jlama.path("java").asText("?")
                                + ", " + jlama.path("vector_type").asText("?") + ", "
                                + jlama.path("threads").asInt()
                                + " threads)",
                        jlama,
                        outputs);
            }
            printRatioRow("PyTorch", rTps, rFirst, peer);
            if (jlama != null) {
                printRatioRow("Jlama", rTps, rFirst, jlama);
            }
        }
    }

    private static void printPeerRow(String name, JsonNode peer, List<long[]> rectifyOutputs) {
        System.out.printf(
                "| %s | %.1f (%.1f) | %.2f (%.2f) | %s |%n",
                name,
                peer.path("decode_tokens_per_s").asDouble(),
                peer.path("best_decode_tokens_per_s").asDouble(),
                peer.path("first_token_latency_ms").asDouble(),
                peer.path("best_first_token_latency_ms").asDouble(),
                TokenAgreement.describe(rectifyOutputs, TokenAgreement.fromJson(peer.path("outputs"))));
    }

    private static void printRatioRow(String peerName, double rTps, double rFirst, JsonNode peer) {
        System.out.printf(
                "| ratio Rectify / %s (medians) | %.2fx | %.2fx (lower is better) | |%n",
                peerName,
                rTps / peer.path("decode_tokens_per_s").asDouble(),
                rFirst / peer.path("first_token_latency_ms").asDouble());
    }
}
