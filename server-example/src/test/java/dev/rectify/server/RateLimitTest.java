package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each API key has its own request budget: over it, 429 in OpenAI's shape with Retry-After. */
class RateLimitTest {
    @Test
    void aKeyOverItsLimitGets429WithRetryAfterAndOtherKeysKeepServing() throws Exception {
        Map<String, Object> props = new HashMap<>(TestServer.properties(TestServer.newDataDir("rate")));
        props.put("rectify.rate-limit.requests-per-minute", "6");
        props.put("rectify.rate-limit.burst", "3");
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props)) {
            Api api = new Api(server.getURL().toString());
            for (int i = 0; i < 3; i++) {
                assertEquals(200, api.get("/v1/models", Api.API_KEY).status(), "request " + i + " is within the burst");
            }
            HttpResponse<String> r = HttpClient.newHttpClient()
                    .send(api.req("/v1/models", Api.API_KEY).GET().build(), HttpResponse.BodyHandlers.ofString());
            JsonNode e = EdgesTest.error(new Api.Response(r.statusCode(), r.body()), 429, "rate_limit_exceeded");
            assertEquals("rate_limit_error", e.get("type").asText());
            long retry = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
            assertTrue(retry >= 1 && retry <= 10, "Retry-After " + retry);
            assertEquals(200, api.get("/v1/models", Api.ADMIN_KEY).status(), "another key has its own budget");
            assertEquals(200, api.get("/health", null).status(), "health checks are not limited");
        }
    }
}
