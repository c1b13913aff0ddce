package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A small raw HTTP client for the tests (exact status codes, bodies and SSE frames). */
final class Api {
    static final String API_KEY = "test-api-key";
    static final String ADMIN_KEY = "test-admin-key";

    record Response(int status, String body) {
        JsonNode json() {
            return Json.parse(body);
        }
    }

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;

    Api(String base) {
        this.base = base;
    }

    HttpRequest.Builder req(String path, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(120));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b;
    }

    Response send(HttpRequest r) {
        try {
            HttpResponse<String> res = http.send(r, HttpResponse.BodyHandlers.ofString());
            return new Response(res.statusCode(), res.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    Response get(String path, String key) {
        return send(req(path, key).GET().build());
    }

    Response post(String path, String key, String json) {
        return send(req(path, key)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build());
    }

    Response delete(String path, String key) {
        return send(req(path, key).DELETE().build());
    }

    Response upload(String key, String filename, byte[] content, String purpose) {
        String boundary = "----rectify" + System.nanoTime();
        var out = new ByteArrayOutputStream();
        try {
            if (purpose != null) {
                out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose
                                + "\r\n")
                        .getBytes(StandardCharsets.UTF_8));
            }
            if (content != null) {
                out.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename
                                + "\"\r\nContent-Type: application/jsonl\r\n\r\n")
                        .getBytes(StandardCharsets.UTF_8));
                out.write(content);
                out.write("\r\n".getBytes(StandardCharsets.UTF_8));
            }
            out.write(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return send(req("/v1/files", key)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()))
                .build());
    }

    /** The raw SSE stream of a request: every line, in order, until the server ends it. */
    List<String> sseLines(HttpRequest r) {
        try {
            HttpResponse<InputStream> res = http.send(r, HttpResponse.BodyHandlers.ofInputStream());
            if (res.statusCode() != 200) {
                throw new AssertionError("status " + res.statusCode() + ": "
                        + new String(res.body().readAllBytes(), StandardCharsets.UTF_8));
            }
            String ct = res.headers().firstValue("content-type").orElse("");
            if (!ct.startsWith("text/event-stream")) {
                throw new AssertionError("content type " + ct);
            }
            List<String> lines = new ArrayList<>();
            try (BufferedReader br = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
                for (String l; (l = br.readLine()) != null; ) {
                    lines.add(l);
                }
            }
            return lines;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    List<String> ssePost(String path, String key, String json) {
        return sseLines(req(path, key)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build());
    }

    List<String> sseGet(String path, String key) {
        return sseLines(req(path, key).GET().build());
    }

    /** The data payloads of SSE lines. */
    static List<String> data(List<String> lines) {
        return lines.stream()
                .filter(l -> l.startsWith("data:"))
                .map(l -> l.substring(5).strip())
                .toList();
    }

    static byte[] mathLines(int n) {
        try {
            List<String> all = Files.readAllLines(Path.of(System.getProperty("rectify.test.data"), "train.jsonl"));
            return (String.join("\n", all.subList(0, n)) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
