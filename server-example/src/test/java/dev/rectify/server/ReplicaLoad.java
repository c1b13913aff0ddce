package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load against running replicas (started by server-example/scale/replicas.sh): starts two long fine-tunes, then N
 * streaming chat clients, spread over the replicas and over the base model and every fine-tuned adapter, for S
 * seconds; prints one result line and exits 1 on any error. Args: FILE_ID CLIENTS SECONDS URL_A URL_B API_KEY ADMIN_KEY.
 */
public final class ReplicaLoad {
    private ReplicaLoad() {}

    public static void main(String[] args) throws Exception {
        String file = args[0];
        int clients = Integer.parseInt(args[1]);
        int seconds = Integer.parseInt(args[2]);
        List<String> urls = List.of(args[3], args[4]);
        String apiKey = args[5];
        String adminKey = args[6];
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String body = "{\"model\": \"rectify-tiny\", \"training_file\": \"" + file + "\", \"seed\": " + (900 + i)
                    + ", \"suffix\": \"bg" + i
                    + "\", \"method\": {\"type\": \"dft\", \"dft\": {\"hyperparameters\": {\"max_steps\": 100000, "
                    + "\"batch_size\": 4, \"lora_rank\": 4, \"lora_alpha\": 8, \"learning_rate\": 0.001, \"max_seq_length\": 96}}}}";
            jobs.add(Json.parse(send(http, urls.get(i), "/v1/fine_tuning/jobs", adminKey, body))
                    .get("id")
                    .asText());
        }
        for (String j : jobs) {
            long until = System.nanoTime() + 120_000_000_000L;
            while (!Json.parse(send(http, urls.get(0), "/v1/fine_tuning/jobs/" + j, adminKey, null))
                    .has("progress")) {
                if (System.nanoTime() > until) {
                    throw new IllegalStateException("fine-tune " + j + " did not start");
                }
                Thread.sleep(200);
            }
        }
        List<String> models = new ArrayList<>();
        for (JsonNode m :
                Json.parse(send(http, urls.get(0), "/v1/models", apiKey, null)).get("data")) {
            models.add(m.get("id").asText());
        }
        List<Long> firstToken = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger requests = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        AtomicLong tokens = new AtomicLong();
        List<String> samples = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        long end = t0 + seconds * 1_000_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        for (int c = 0; c < clients; c++) {
            int client = c;
            pool.execute(() -> {
                for (int k = 0; System.nanoTime() < end; k++) {
                    String url = urls.get((client + k) % 2);
                    String model = models.get((client + k) % models.size());
                    String body = "{\"model\": \"" + model
                            + "\", \"messages\": [{\"role\": \"user\", \"content\": \"What is " + (client * 7 + k)
                            + " + " + (k * 3) + "?\"}], \"temperature\": 0.8, \"max_tokens\": 32, \"seed\": "
                            + (client * 1000 + k)
                            + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
                    long s = System.nanoTime();
                    try {
                        HttpResponse<InputStream> res = http.send(
                                request(url, "/v1/chat/completions", apiKey, body),
                                HttpResponse.BodyHandlers.ofInputStream());
                        if (res.statusCode() != 200) {
                            throw new IllegalStateException(res.statusCode() + " "
                                    + new String(res.body().readAllBytes(), StandardCharsets.UTF_8));
                        }
                        boolean first = true;
                        boolean done = false;
                        long usage = -1;
                        try (BufferedReader br =
                                new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
                            for (String line; (line = br.readLine()) != null; ) {
                                if (!line.startsWith("data: ")) {
                                    continue;
                                }
                                String d = line.substring(6);
                                if (d.equals("[DONE]")) {
                                    done = true;
                                    continue;
                                }
                                JsonNode n = Json.parse(d);
                                if (n.has("error")) {
                                    throw new IllegalStateException(d);
                                }
                                if (first
                                        && n.at("/choices/0/delta/content")
                                                        .asText("")
                                                        .length()
                                                > 0) {
                                    firstToken.add(System.nanoTime() - s);
                                    first = false;
                                }
                                if (n.hasNonNull("usage")) {
                                    usage = n.at("/usage/completion_tokens").asLong();
                                }
                            }
                        }
                        if (!done || usage < 0) {
                            throw new IllegalStateException("stream ended without usage and [DONE]");
                        }
                        tokens.addAndGet(usage);
                        requests.incrementAndGet();
                    } catch (Exception e) {
                        errors.incrementAndGet();
                        samples.add(e.toString());
                    }
                }
            });
        }
        pool.shutdown();
        pool.awaitTermination(seconds + 180L, TimeUnit.SECONDS);
        double wall = (System.nanoTime() - t0) / 1e9;
        StringBuilder steps = new StringBuilder();
        for (String j : jobs) {
            JsonNode s = Json.parse(send(http, urls.get(1), "/v1/fine_tuning/jobs/" + j, adminKey, null));
            steps.append(steps.length() == 0 ? "" : ", ")
                    .append(s.get("status").asText())
                    .append(" at step ")
                    .append(s.at("/progress/step").asText());
            send(http, urls.get(1), "/v1/fine_tuning/jobs/" + j + "/cancel", adminKey, "");
        }
        List<Long> ft = new ArrayList<>(firstToken);
        Collections.sort(ft);
        System.out.printf(
                "load on 2 replicas: %d streaming clients, %.0f s, %d models, 2 fine-tunes running (%s): %d answers "
                        + "(%.1f/s), %d tokens, first token p50 %.2f s p99 %.2f s, %d errors%s%n",
                clients,
                wall,
                models.size(),
                steps,
                requests.get(),
                requests.get() / wall,
                tokens.get(),
                pct(ft, 0.5),
                pct(ft, 0.99),
                errors.get(),
                samples.isEmpty() ? "" : " e.g. " + samples.subList(0, Math.min(3, samples.size())));
        System.exit(errors.get() == 0 ? 0 : 1);
    }

    private static HttpRequest request(String url, String path, String key, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path))
                .timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + key);
        return body == null
                ? b.GET().build()
                : b.header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build();
    }

    private static String send(HttpClient http, String url, String path, String key, String body) throws Exception {
        HttpResponse<String> r = http.send(request(url, path, key, body), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(path + ": " + r.statusCode() + " " + r.body());
        }
        return r.body();
    }

    private static double pct(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))) / 1e9;
    }
}
