package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Files that jobs still need cannot be deleted; job errors name no server paths; old checkpoints are cleaned up. */
class FilesInUseTest {
    private static JsonNode waitFor(Api api, String jobId, Predicate<JsonNode> until) throws InterruptedException {
        long end = System.nanoTime() + 120_000_000_000L;
        JsonNode j = null;
        while (System.nanoTime() < end) {
            j = api.get("/v1/fine_tuning/jobs/" + jobId, Api.ADMIN_KEY).json();
            if (until.test(j)) {
                return j;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out; last state " + j);
    }

    private static String upload(Api api) {
        Api.Response r = api.upload(Api.ADMIN_KEY, "math.jsonl", Api.mathLines(12), "fine-tune");
        assertEquals(200, r.status(), r.body());
        return r.json().get("id").asText();
    }

    @Test
    void aFileAJobStillNeedsCannotBeDeletedAndJobErrorsNameNoServerPaths() throws Exception {
        Path dataDir = TestServer.newDataDir("in-use").toAbsolutePath();
        try (EmbeddedServer server =
                ApplicationContext.run(EmbeddedServer.class, new HashMap<>(TestServer.properties(dataDir)))) {
            Api api = new Api(server.getURL().toString());
            String a = upload(api);
            String b = upload(api);
            String running = api.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(a, 200, null))
                    .json()
                    .get("id")
                    .asText();
            waitFor(api, running, j -> j.get("status").asText().equals("running") && j.has("progress"));
            String queued = api.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(b, 2, null))
                    .json()
                    .get("id")
                    .asText();

            JsonNode e = EdgesTest.error(api.delete("/v1/files/" + b, Api.ADMIN_KEY), 409, "file_in_use");
            assertTrue(e.get("message").asText().contains(queued), e.toString());
            EdgesTest.error(api.delete("/v1/files/" + a, Api.ADMIN_KEY), 409, "file_in_use");
            assertEquals(200, api.get("/v1/files/" + b, Api.ADMIN_KEY).status(), "the file is still there");

            Files.delete(dataDir.resolve("files").resolve(b + ".jsonl")); // lost behind the server's back
            api.post("/v1/fine_tuning/jobs/" + running + "/cancel", Api.ADMIN_KEY, "");
            JsonNode failed = waitFor(api, queued, j -> j.get("status").asText().equals("failed"));
            String message = failed.at("/error/message").asText();
            assertFalse(message.isBlank(), failed.toString());
            assertFalse(message.contains(dataDir.toString()), message);
            String events = api.get("/v1/fine_tuning/jobs/" + queued + "/events", Api.ADMIN_KEY)
                    .body();
            assertFalse(events.contains(dataDir.toString()), events);

            assertEquals(200, api.delete("/v1/files/" + b, Api.ADMIN_KEY).status(), "no unfinished job uses it now");
            assertEquals(200, api.delete("/v1/files/" + a, Api.ADMIN_KEY).status());

            CheckpointRetention retention = server.getApplicationContext().getBean(CheckpointRetention.class);
            Path runDir = dataDir.resolve("runs").resolve(running);
            assertTrue(Files.isDirectory(runDir), "the cancelled job left checkpoints");
            assertFalse(retention.sweep(Duration.ofDays(1)).contains(running), "kept within the retention period");
            assertTrue(Files.isDirectory(runDir));
            assertTrue(retention.sweep(Duration.ZERO).contains(running));
            assertFalse(Files.exists(runDir), "deleted after it");
        }
    }
}
