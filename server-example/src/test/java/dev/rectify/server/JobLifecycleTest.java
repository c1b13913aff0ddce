package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Cancelling a running job, the full queue (429), and a restart in the middle of a job. */
class JobLifecycleTest {
    private static JsonNode waitFor(Api api, String jobId, Predicate<JsonNode> until, int seconds)
            throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
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
    void cancelStopsARunningJobAndAFullQueueAnswers429() throws Exception {
        Map<String, Object> props = new HashMap<>(TestServer.properties(TestServer.newDataDir("cancel")));
        props.put("rectify.jobs.max-queued", "1");
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props)) {
            Api api = new Api(server.getURL().toString());
            String file = upload(api);
            String running = api.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 200, null))
                    .json()
                    .get("id")
                    .asText();
            waitFor(api, running, j -> j.get("status").asText().equals("running") && j.has("progress"), 120);
            String queued = api.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 2, null))
                    .json()
                    .get("id")
                    .asText();
            Api.Response full = api.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 2, null));
            assertEquals(429, full.status(), full.body());
            assertTrue(full.json().at("/error/message").asText().contains("queue is full"));

            JsonNode c = api.post("/v1/fine_tuning/jobs/" + queued + "/cancel", Api.ADMIN_KEY, "")
                    .json();
            assertEquals("cancelled", c.get("status").asText(), "a queued job is cancelled at once");

            // TRL's names and OpenAI's supervised method with loss_type "dft", through the SDK's one mapping
            JsonNode trl = api.post(
                            "/v1/fine_tuning/jobs",
                            Api.ADMIN_KEY,
                            "{\"model\": \"rectify-tiny\", \"training_file\": \""
                                    + file
                                    + "\", \"method\": {\"type\": \"supervised\", \"supervised\": {\"hyperparameters\": {"
                                    + "\"loss_type\": \"dft\", \"num_train_epochs\": 2, \"per_device_train_batch_size\": 2, "
                                    + "\"gradient_accumulation_steps\": 3, \"max_length\": 64, \"lora_rank\": 4, "
                                    + "\"lora_dropout\": 0.05, \"lr_scheduler_type\": \"constant_with_warmup\", "
                                    + "\"warmup_ratio\": 0.1, \"weight_decay\": 0.01, \"max_grad_norm\": 0.5}}}}")
                    .json();
            JsonNode hp = trl.at("/method/supervised/hyperparameters");
            assertEquals("dft", hp.get("loss_type").asText(), trl.toString());
            assertEquals(2, hp.get("n_epochs").asInt());
            assertEquals(6, hp.get("batch_size").asInt(), "per-device batch x accumulation steps");
            assertEquals(2, hp.get("micro_batch_size").asInt());
            assertEquals(64, hp.get("max_seq_length").asInt());
            assertEquals(8.0, hp.get("lora_alpha").asDouble(), "alpha defaults to twice the rank");
            assertEquals(0.05, hp.get("lora_dropout").asDouble(), trl.toString());
            assertEquals("constant_with_warmup", hp.get("schedule").asText());
            assertEquals(0.1, hp.get("warmup_ratio").asDouble());
            assertEquals(0.01, hp.get("weight_decay").asDouble());
            assertEquals(0.5, hp.get("max_grad_norm").asDouble());
            assertEquals(
                    "cancelled",
                    api.post("/v1/fine_tuning/jobs/" + trl.get("id").asText() + "/cancel", Api.ADMIN_KEY, "")
                            .json()
                            .get("status")
                            .asText());
            JsonNode r = api.post("/v1/fine_tuning/jobs/" + running + "/cancel", Api.ADMIN_KEY, "")
                    .json();
            JsonNode done = waitFor(api, running, j -> !j.get("status").asText().equals("running"), 60);
            assertEquals("cancelled", done.get("status").asText(), r.toString());
            assertTrue(done.at("/progress/step").asInt() < 200, "it stopped early");
            assertTrue(done.get("fine_tuned_model").isNull());
            int step = done.at("/progress/step").asInt();
            Thread.sleep(1500);
            assertEquals(
                    step,
                    api.get("/v1/fine_tuning/jobs/" + running, Api.ADMIN_KEY)
                            .json()
                            .at("/progress/step")
                            .asInt(),
                    "no steps after cancelling");
            assertEquals(
                    200,
                    api.post("/v1/fine_tuning/jobs/" + running + "/cancel", Api.ADMIN_KEY, "")
                            .status(),
                    "cancelling again is harmless");
            JsonNode list =
                    api.get("/v1/fine_tuning/jobs?limit=1", Api.ADMIN_KEY).json();
            assertEquals(1, list.get("data").size());
            assertTrue(list.get("has_more").asBoolean());
            assertFalse(api.get("/v1/models", Api.API_KEY).body().contains("ft:"));
        }
    }

    @Test
    void aRestartInTheMiddleOfAJobResumesItFromItsCheckpoint() throws Exception {
        Path dataDir = TestServer.newDataDir("restart");
        Map<String, Object> props = new HashMap<>(TestServer.properties(dataDir));
        String jobId;
        int stepAtStop;
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props)) {
            Api api = new Api(server.getURL().toString());
            String file = upload(api);
            jobId = api.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(file, 6, "restart"))
                    .json()
                    .get("id")
                    .asText();
            JsonNode j = waitFor(api, jobId, x -> x.at("/progress/step").asInt() >= 2, 120);
            stepAtStop = j.at("/progress/step").asInt();
        }
        try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, props)) {
            Api api = new Api(server.getURL().toString());
            JsonNode j = waitFor(
                    api, jobId, x -> JobStatus.of(x.get("status").asText()).isTerminal(), 120);
            assertEquals("succeeded", j.get("status").asText(), j.toString());
            assertEquals(6, j.at("/progress/step").asInt());
            String events = api.get("/v1/fine_tuning/jobs/" + jobId + "/events?limit=100", Api.ADMIN_KEY)
                    .body();
            assertTrue(events.contains("resuming from checkpoint"), events);
            assertTrue(events.contains("Server shutting down"), events);
            assertTrue(stepAtStop < 6, "the job was stopped mid-run at step " + stepAtStop);
            // the adapter is served after the restart
            String model = j.get("fine_tuned_model").asText();
            assertEquals(
                    200,
                    api.post(
                                    "/v1/chat/completions",
                                    Api.API_KEY,
                                    "{\"model\": \"" + model
                                            + "\", \"messages\": [{\"role\": \"user\", \"content\": \"2 + 2?\"}], \"max_tokens\": 4}")
                            .status());
        }
    }
}
