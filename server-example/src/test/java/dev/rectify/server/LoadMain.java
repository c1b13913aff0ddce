package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load program: starts the server on loopback (a fresh data folder), fine-tunes a few small adapters, starts one more
 * (long) fine-tuning job, then runs N concurrent streaming chat clients across the base model and the adapters for a
 * fixed time (bounded also by a request count), and prints requests/s, tokens/s, p50/p99 first-token latency and
 * errors. Stops by itself. Args: [clients=16] [seconds=60] [adapters=3] [maxRequests=100000].
 */
public final class LoadMain {
    private LoadMain() {}

    public static void main(String[] args) throws Exception {
        Application.offline();
        int clients = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        int adapters = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int maxRequests = args.length > 3 ? Integer.parseInt(args[3]) : 100_000;
        Path dataDir = TestServer.newDataDir("load");
        Map<String, Object> props = new HashMap<>(TestServer.properties(dataDir));
        props.put("micronaut.server.host", "127.0.0.1");
        props.put("rectify.limits.max-json-body", "1048576");
        props.put("rectify.inference.threads", System.getProperty("load.threads", "4"));
        props.put("rectify.adapters.cache-size", "8");
        props.put("rectify.jobs.checkpoint-every", "10");
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props)) {
            Api api = new Api(server.getURL().toString());
            String file = api.upload(Api.ADMIN_KEY, "math.jsonl", Api.mathLines(64), "fine-tune")
                    .json()
                    .get("id")
                    .asText();
            List<String> models = new ArrayList<>();
            models.add("rectify-tiny");
            for (int i = 0; i < adapters; i++) {
                String job = api.post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                TestServer.job(file, 2, "load" + i).replace("\"seed\": 7", "\"seed\": " + (100 + i)))
                        .json()
                        .get("id")
                        .asText();
                models.add(waitDone(api, job).get("fine_tuned_model").asText());
            }
            System.out.println("models: " + models);
            String background = api.post(
                            "/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 100_000, "background"))
                    .json()
                    .get("id")
                    .asText();
            long waitEnd = System.nanoTime() + 120_000_000_000L;
            while (!api.get("/v1/fine_tuning/jobs/" + background, Api.ADMIN_KEY)
                            .json()
                            .has("progress")
                    && System.nanoTime() < waitEnd) {
                Thread.sleep(200);
            }
            System.out.println("background fine-tuning job " + background + " is running");

            HttpClient http = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();
            List<Long> firstToken = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger requests = new AtomicInteger();
            AtomicInteger errors = new AtomicInteger();
            AtomicLong tokens = new AtomicLong();
            AtomicInteger started = new AtomicInteger();
            List<String> errorSamples = Collections.synchronizedList(new ArrayList<>());
            long t0 = System.nanoTime();
            long end = t0 + seconds * 1_000_000_000L;
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            for (int c = 0; c < clients; c++) {
                int client = c;
                pool.execute(() -> {
                    int k = 0;
                    while (System.nanoTime() < end && started.incrementAndGet() <= maxRequests) {
                        String model = models.get((client + k++) % models.size());
                        String body = "{\"model\": \"" + model
                                + "\", \"messages\": [{\"role\": \"user\", \"content\": \"What is "
                                + (client * 7 + k) + " + " + (k * 3)
                                + "?\"}], \"temperature\": 0.8, \"max_tokens\": 32, \"seed\": "
                                + (client * 1000 + k)
                                + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
                        HttpRequest r = HttpRequest.newBuilder(URI.create(server.getURL() + "/v1/chat/completions"))
                                .timeout(Duration.ofSeconds(120))
                                .header("Authorization", "Bearer " + Api.API_KEY)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build();
                        long s = System.nanoTime();
                        try {
                            HttpResponse<InputStream> res = http.send(r, HttpResponse.BodyHandlers.ofInputStream());
                            if (res.statusCode() != 200) {
                                errors.incrementAndGet();
                                errorSamples.add(res.statusCode() + " "
                                        + new String(res.body().readAllBytes(), StandardCharsets.UTF_8));
                                continue;
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
                            errorSamples.add(e.toString());
                        }
                    }
                });
            }
            pool.shutdown();
            pool.awaitTermination(seconds + 180L, TimeUnit.SECONDS);
            double wall = (System.nanoTime() - t0) / 1e9;
            JsonNode bg =
                    api.get("/v1/fine_tuning/jobs/" + background, Api.ADMIN_KEY).json();
            api.post("/v1/fine_tuning/jobs/" + background + "/cancel", Api.ADMIN_KEY, "");
            List<Long> ft = new ArrayList<>(firstToken);
            Collections.sort(ft);
            System.out.printf(
                    "clients=%d duration=%.1fs models=%d (base + %d adapters) cpus=%d inference-threads=%s%n",
                    clients,
                    wall,
                    models.size(),
                    adapters,
                    Runtime.getRuntime().availableProcessors(),
                    props.get("rectify.inference.threads"));
            System.out.printf(
                    "requests=%d requests/s=%.2f completion tokens=%d tokens/s=%.1f%n",
                    requests.get(), requests.get() / wall, tokens.get(), tokens.get() / wall);
            System.out.printf(
                    "first-token latency p50=%.0f ms p99=%.0f ms (n=%d)%n", pct(ft, 0.50), pct(ft, 0.99), ft.size());
            System.out.printf(
                    "errors=%d%s%n",
                    errors.get(),
                    errorSamples.isEmpty() ? "" : " e.g. " + errorSamples.subList(0, Math.min(3, errorSamples.size())));
            System.out.printf(
                    "background job: status=%s step=%s during the run%n",
                    bg.get("status").asText(), bg.at("/progress/step").asText());
            if (errors.get() > 0) {
                System.exit(1);
            }
        }
        System.exit(0);
    }

    private static double pct(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))) / 1e6;
    }

    private static JsonNode waitDone(Api api, String job) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            JsonNode j = api.get("/v1/fine_tuning/jobs/" + job, Api.ADMIN_KEY).json();
            if (JobStatus.of(j.get("status").asText()).isTerminal()) {
                if (!j.get("status").asText().equals("succeeded")) {
                    throw new IllegalStateException("job failed: " + j);
                }
                return j;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("job " + job + " did not finish");
    }
}
