package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.core.ChatMessage;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/** Upload → job → event stream → adapter in /v1/models → completions that match the SDK; streaming; adapter admin. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServerFlowTest implements TestPropertyProvider {
    private final Path dataDir = TestServer.newDataDir("flow");

    @Inject
    EmbeddedServer server;

    @Inject
    BaseModel base;

    private Api api;
    private static String adapterModel;
    private static String jobId;

    @Override
    public Map<String, String> getProperties() {
        return TestServer.properties(dataDir);
    }

    private Api api() {
        if (api == null) {
            api = new Api(server.getURL().toString());
        }
        return api;
    }

    @Test
    @Order(1)
    void fineTunesThroughTheApiAndServesTheAdapterWithTheSdksOutput() throws Exception {
        Api.Response up = api().upload(Api.ADMIN_KEY, "math.jsonl", Api.mathLines(12), "fine-tune");
        assertEquals(200, up.status(), up.body());
        JsonNode file = up.json();
        assertEquals("file", file.get("object").asText());
        assertEquals(12, file.get("examples").asInt());
        String fileId = file.get("id").asText();
        assertTrue(api().get("/v1/files", Api.ADMIN_KEY).body().contains(fileId));

        Api.Response created = api().post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, TestServer.job(fileId, 3, "math"));
        assertEquals(200, created.status(), created.body());
        JsonNode job = created.json();
        jobId = job.get("id").asText();
        assertEquals("fine_tuning.job", job.get("object").asText());
        assertTrue(List.of("queued", "running").contains(job.get("status").asText()), job.toString());
        assertEquals("dft", job.at("/method/type").asText());
        assertEquals(4, job.at("/method/dft/hyperparameters/lora_rank").asInt());

        // the SSE event stream runs until the job ends, then [DONE]
        List<String> lines = api().sseGet("/v1/fine_tuning/jobs/" + jobId + "/events?stream=true", Api.ADMIN_KEY);
        List<String> data = Api.data(lines);
        assertEquals("[DONE]", data.get(data.size() - 1));
        List<JsonNode> events =
                data.subList(0, data.size() - 1).stream().map(Json::parse).toList();
        assertTrue(events.stream().allMatch(e -> e.get("object").asText().equals("fine_tuning.job.event")));
        assertEquals(
                3,
                events.stream()
                        .filter(e -> e.get("type").asText().equals("metrics"))
                        .count(),
                data.toString());
        assertTrue(
                events.get(events.size() - 1).get("message").asText().contains("successfully completed"),
                data.toString());

        job = api().get("/v1/fine_tuning/jobs/" + jobId, Api.ADMIN_KEY).json();
        assertEquals("succeeded", job.get("status").asText(), job.toString());
        adapterModel = job.get("fine_tuned_model").asText();
        assertTrue(adapterModel.startsWith("ft:rectify-tiny:math:"), adapterModel);
        assertTrue(job.get("trained_tokens").asLong() > 0);

        // paged events, newest first
        JsonNode page = api().get("/v1/fine_tuning/jobs/" + jobId + "/events?limit=2", Api.ADMIN_KEY)
                .json();
        assertEquals(2, page.get("data").size());
        assertTrue(page.get("has_more").asBoolean());
        JsonNode next = api().get(
                        "/v1/fine_tuning/jobs/" + jobId + "/events?limit=2&after="
                                + page.get("last_id").asText(),
                        Api.ADMIN_KEY)
                .json();
        assertFalse(next.get("data")
                .get(0)
                .get("id")
                .asText()
                .equals(page.get("last_id").asText()));

        JsonNode ckpts = api().get("/v1/fine_tuning/jobs/" + jobId + "/checkpoints", Api.ADMIN_KEY)
                .json();
        assertTrue(ckpts.get("data").size() >= 2, ckpts.toString());
        assertEquals(
                "fine_tuning.job.checkpoint",
                ckpts.get("data").get(0).get("object").asText());

        JsonNode models = api().get("/v1/models", Api.API_KEY).json();
        JsonNode entry = null;
        for (JsonNode m : models.get("data")) {
            if (m.get("id").asText().equals(adapterModel)) {
                entry = m;
            }
        }
        assertNotNull(entry, models.toString());
        assertEquals("rectify-tiny", entry.get("root").asText());
        assertEquals("rectify-tiny", entry.get("parent").asText());

        // the same text as the SDK with the same adapter and seed
        String req = "{\"model\": \"" + adapterModel
                + "\", \"messages\": [{\"role\": \"user\", \"content\": \"What is 12 + 30?\"}],"
                + " \"temperature\": 0.9, \"top_p\": 0.95, \"seed\": 1234, \"max_tokens\": 24}";
        Api.Response chat = api().post("/v1/chat/completions", Api.API_KEY, req);
        assertEquals(200, chat.status(), chat.body());
        JsonNode c = chat.json();
        assertEquals("chat.completion", c.get("object").asText());
        String served = c.at("/choices/0/message/content").asText();
        Adapter adapter = AdapterFiles.read(dataDir.resolve("adapters").resolve(jobId), null);
        try (AdaptedModel am = AdaptedModel.of(base, adapter)) {
            var g = am.chat(
                    List.of(ChatMessage.user("What is 12 + 30?")),
                    Sampling.sample(0.9).topP(0.95).seed(1234).maxNewTokens(24),
                    t -> {});
            assertEquals(g.text(), served);
            assertEquals(g.promptTokens(), c.at("/usage/prompt_tokens").asInt());
            assertEquals(g.completionTokens(), c.at("/usage/completion_tokens").asInt());
            assertEquals(
                    g.finishReason().openAiName(),
                    c.at("/choices/0/finish_reason").asText());
        }
        assertEquals(
                c.at("/usage/prompt_tokens").asInt()
                        + c.at("/usage/completion_tokens").asInt(),
                c.at("/usage/total_tokens").asInt());

        // streamed: well-formed chunks whose deltas add up to the same text, usage, then [DONE]
        String streamReq = req.substring(0, req.length() - 1)
                + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
        List<String> sse = api().ssePost("/v1/chat/completions", Api.API_KEY, streamReq);
        List<String> frames = Api.data(sse);
        for (String l : sse) {
            assertTrue(l.isEmpty() || l.startsWith("data: "), "unexpected SSE line: " + l);
        }
        assertEquals("[DONE]", frames.get(frames.size() - 1));
        StringBuilder text = new StringBuilder();
        List<JsonNode> chunks = new ArrayList<>();
        for (String f : frames.subList(0, frames.size() - 1)) {
            JsonNode ch = Json.parse(f);
            chunks.add(ch);
            assertEquals("chat.completion.chunk", ch.get("object").asText(), f);
            assertEquals(adapterModel, ch.get("model").asText());
            if (ch.get("choices").size() > 0) {
                text.append(ch.at("/choices/0/delta/content").asText(""));
            }
        }
        assertEquals("assistant", chunks.get(0).at("/choices/0/delta/role").asText());
        assertEquals(served, text.toString());
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertEquals(
                c.at("/choices/0/finish_reason").asText(),
                finish.at("/choices/0/finish_reason").asText());
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertEquals(0, usage.get("choices").size());
        assertEquals(c.get("usage"), usage.get("usage"));
    }

    @Test
    @Order(2)
    void legacyCompletionsStreamAndNot() {
        String req = "{\"model\": \"rectify-tiny\", \"prompt\": \"12 + 30 =\", \"temperature\": 0, \"max_tokens\": 8}";
        Api.Response r = api().post("/v1/completions", Api.API_KEY, req);
        assertEquals(200, r.status(), r.body());
        JsonNode c = r.json();
        assertEquals("text_completion", c.get("object").asText());
        String text = c.at("/choices/0/text").asText();
        assertEquals(
                base.generate("12 + 30 =", Sampling.greedy().maxNewTokens(8)).text(), text);
        assertTrue(c.at("/choices/0/logprobs").isNull());

        List<String> frames = Api.data(api().ssePost(
                        "/v1/completions", Api.API_KEY, req.substring(0, req.length() - 1) + ", \"stream\": true}"));
        assertEquals("[DONE]", frames.get(frames.size() - 1));
        StringBuilder sb = new StringBuilder();
        for (String f : frames.subList(0, frames.size() - 1)) {
            JsonNode ch = Json.parse(f);
            assertEquals("text_completion", ch.get("object").asText());
            sb.append(ch.at("/choices/0/text").asText());
        }
        assertEquals(text, sb.toString());
        assertFalse(Json.parse(frames.get(frames.size() - 2))
                .at("/choices/0/finish_reason")
                .isNull());
    }

    @Test
    @Order(3)
    void adaptersAreLoadedPinnedUnloadedAndDeleted() throws Exception {
        // a PEFT folder inside the data folder, loaded under a new name
        Path peft = dataDir.resolve("import").resolve("math-peft");
        Files.createDirectories(peft.getParent());
        AdapterFiles.write(AdapterFiles.read(dataDir.resolve("adapters").resolve(jobId), null), peft);
        Api.Response loaded = api().post(
                        "/v1/admin/adapters",
                        Api.ADMIN_KEY,
                        "{\"name\": \"math-imported\", \"path\": \"import/math-peft\", \"pinned\": true}");
        assertEquals(200, loaded.status(), loaded.body());
        assertTrue(loaded.json().get("pinned").asBoolean());
        assertTrue(loaded.json().get("loaded").asBoolean());
        assertEquals(
                409,
                api().post(
                                "/v1/admin/adapters",
                                Api.ADMIN_KEY,
                                "{\"name\": \"math-imported\", \"path\": \"import/math-peft\"}")
                        .status());

        String q =
                "{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"What is 7 + 5?\"}], \"seed\": 3, \"max_tokens\": 12}";
        String a = api().post("/v1/chat/completions", Api.API_KEY, String.format(q, "math-imported"))
                .json()
                .at("/choices/0/message/content")
                .asText();
        String b = api().post("/v1/chat/completions", Api.API_KEY, String.format(q, adapterModel))
                .json()
                .at("/choices/0/message/content")
                .asText();
        assertEquals(b, a, "the imported copy generates like the original");

        JsonNode unloaded = api().post("/v1/admin/adapters/math-imported/unload", Api.ADMIN_KEY, "")
                .json();
        assertFalse(unloaded.get("loaded").asBoolean());
        assertFalse(unloaded.get("pinned").asBoolean());
        assertEquals(
                200,
                api().post("/v1/chat/completions", Api.API_KEY, String.format(q, "math-imported"))
                        .status(),
                "reloads on demand");
        assertTrue(api().post("/v1/admin/adapters/math-imported/pin", Api.ADMIN_KEY, "")
                .json()
                .get("pinned")
                .asBoolean());

        assertEquals(
                200,
                api().delete("/v1/admin/adapters/math-imported", Api.ADMIN_KEY).status());
        assertEquals(
                404,
                api().post("/v1/chat/completions", Api.API_KEY, String.format(q, "math-imported"))
                        .status());
        assertFalse(api().get("/v1/models", Api.API_KEY).body().contains("math-imported"));

        String metrics = api().get("/prometheus", Api.API_KEY).body();
        assertTrue(metrics.contains("rectify_jobs_queue_depth"), metrics);
        assertTrue(metrics.contains("rectify_adapters_cache_hits"), metrics);
        assertTrue(metrics.contains("rectify_generation_tokens"), metrics);
        assertTrue(metrics.contains("rectify_jobs_duration"), metrics);
        assertEquals(200, api().get("/health", null).status());
    }
}
