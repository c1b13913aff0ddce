package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/** The server's edges, as an attacker or a careless client probes them: each answer is a clean, OpenAI-shaped refusal. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EdgesTest {
    private EmbeddedServer server;
    private Api api;

    @BeforeAll
    void start() {
        Map<String, Object> props = new HashMap<>(TestServer.properties(TestServer.newDataDir("edges")));
        props.put("rectify.limits.request-timeout", "1s");
        server = ApplicationContext.run(EmbeddedServer.class, props);
        api = new Api(server.getURL().toString());
    }

    @AfterAll
    void stop() {
        server.close();
    }

    static JsonNode error(Api.Response r, int status, String code) {
        assertEquals(status, r.status(), r.body());
        JsonNode e = Json.parse(r.body()).get("error");
        assertTrue(e != null && e.has("message") && e.has("type") && e.has("param") && e.has("code"), r.body());
        if (code != null) {
            assertEquals(code, e.get("code").asText(), r.body());
        }
        return e;
    }

    @Test
    void managementEndpointsAreOffExceptHealthAndPrometheus() {
        for (String path : List.of(
                "/beans",
                "/threaddump",
                "/routes",
                "/flyway",
                "/metrics",
                "/info",
                "/env",
                "/loggers",
                "/caches",
                "/refresh")) {
            error(api.get(path, Api.ADMIN_KEY), 404, "not_found");
        }
        error(api.post("/refresh", Api.ADMIN_KEY, "{}"), 404, "not_found");
        assertEquals(200, api.get("/health", null).status());
        Api.Response prom = api.get("/prometheus", Api.API_KEY);
        assertEquals(200, prom.status(), prom.body());
        assertTrue(prom.body().contains("# TYPE"), "metrics are exported");
    }

    /** A raw HTTP/1.1 exchange: the request head, then the body in chunks until the server answers or closes. */
    private String rawChunked(String path, String contentType, int chunks, int chunkBytes, long[] sent)
            throws IOException {
        URL u = server.getURL();
        try (Socket s = new Socket(u.getHost(), u.getPort())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + Api.API_KEY
                            + "\r\nContent-Type: " + contentType + "\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = ("{\"model\": \"rectify-tiny\", \"prompt\": \"" + "x".repeat(chunkBytes))
                    .substring(0, chunkBytes)
                    .getBytes(StandardCharsets.US_ASCII);
            try {
                for (int i = 0; i < chunks && in.available() == 0; i++) {
                    out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(chunk);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    sent[0] += chunk.length;
                }
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                // the server refused and closed while we were sending: read its answer
            }
            return readAll(in);
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            in.transferTo(b);
        } catch (IOException e) {
            // reset after the answer
        }
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aChunkedBodyOverTheLimitIsRefusedWhileItArrives() throws IOException {
        long[] sent = new long[1];
        String res = rawChunked("/v1/completions", "application/json", 128, 65536, sent); // 8 MB offered
        assertTrue(res.startsWith("HTTP/1.1 413"), res);
        assertTrue(res.contains("\"code\":\"request_too_large\""), res);
        assertTrue(sent[0] < 4 * 1024 * 1024, "refused after " + sent[0] + " bytes, not after reading all 8 MB");
    }

    @Test
    void wrongContentTypesGet415AndLongUrisGet414() throws IOException {
        Api.Response plain = api.send(api.req("/v1/chat/completions", Api.API_KEY)
                .header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"rectify-tiny\", \"messages\": []}"))
                .build());
        error(plain, 415, "unsupported_media_type");
        long[] sent = new long[1];
        assertTrue(rawChunked("/v1/completions", "text/plain", 1, 100, sent).startsWith("HTTP/1.1 415"));
        error(api.get("/v1/models?q=" + "a".repeat(5000), Api.API_KEY), 414, "uri_too_long");
        error(api.get("/v1/models?q=" + "a".repeat(70_000), Api.API_KEY), 414, "uri_too_long");
        assertEquals(200, api.get("/v1/models", Api.API_KEY).status(), "the server keeps serving");
    }

    @Test
    void halfSentRequestsAreClosed() throws IOException {
        URL u = server.getURL();
        for (String partial : List.of(
                "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 100\r\n\r\n{\"model\"",
                "GET /v1/mod")) {
            try (Socket s = new Socket(u.getHost(), u.getPort())) {
                s.setSoTimeout(20_000);
                s.getOutputStream().write(partial.getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                int read;
                try {
                    read = s.getInputStream().read();
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("the half-sent request was still open after 20 s", e);
                } catch (IOException e) {
                    read = -1; // reset by the server
                }
                assertEquals(-1, read, "the server closed the connection without an answer");
            }
        }
    }

    @Test
    void crossOriginRequestsAreRefusedInOpenAisShape() {
        Api.Response r = api.send(api.req("/v1/models", Api.API_KEY)
                .header("Origin", "https://evil.example")
                .GET()
                .build());
        error(r, 403, null);
        Api.Response pre = api.send(api.req("/v1/chat/completions", null)
                .header("Origin", "https://evil.example")
                .header("Access-Control-Request-Method", "POST")
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .build());
        assertTrue(pre.status() >= 400, pre.body());
        error(pre, pre.status(), null);
    }

    @Test
    void aClientThatLeavesMidStreamLeavesNoStackTrace() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        root.addAppender(logs);
        try {
            URL u = server.getURL();
            String body = "{\"model\": \"rectify-tiny\", \"prompt\": \"1 +\", \"max_tokens\": 400, \"stream\": true}";
            try (Socket s = new Socket(u.getHost(), u.getPort())) {
                s.getOutputStream()
                        .write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + Api.API_KEY
                                        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length()
                                        + "\r\n\r\n" + body)
                                .getBytes(StandardCharsets.US_ASCII));
                byte[] first = new byte[256];
                assertTrue(s.getInputStream().read(first) > 0);
                s.setSoLinger(true, 0); // reset, as a killed client does
            }
            for (int i = 0; i < 40 && api.get("/v1/models", Api.API_KEY).status() == 200; i++) {
                Thread.sleep(100);
            }
            Thread.sleep(2000);
            List<ILoggingEvent> traces = logs.list.stream()
                    .filter(e -> e.getThrowableProxy() != null)
                    .toList();
            assertTrue(traces.isEmpty(), "stack traces logged: " + traces);
        } finally {
            root.detachAppender(logs);
        }
    }

    @Test
    void theSchemaHasForeignKeys() throws SQLException {
        ApplicationContext ctx = server.getApplicationContext();
        try (Connection c = DriverManager.getConnection(
                        ctx.getRequiredProperty("datasources.default.url", String.class),
                        ctx.getRequiredProperty("datasources.default.username", String.class),
                        ctx.getProperty("datasources.default.password", String.class)
                                .orElse(""));
                Statement st = c.createStatement()) {
            SQLException e = assertThrows(
                    SQLException.class,
                    () -> st.executeUpdate("INSERT INTO rf_job_events (id, seq, job_id, "
                            + "created_at, event_level, event_type, message) VALUES ('ftevent-x', 1, 'ftjob-nosuchjob', 0, 'info', "
                            + "'message', 'x')"));
            assertNotNull(e.getMessage());
            assertThrows(
                    SQLException.class,
                    () -> st.executeUpdate(
                            "INSERT INTO rf_checkpoints (id, seq, job_id, step_number, "
                                    + "created_at, metrics, checkpoint_model) VALUES ('ftckpt-x', 1, 'ftjob-nosuchjob', 1, 0, '{}', 'm')"));
        }
    }
}
