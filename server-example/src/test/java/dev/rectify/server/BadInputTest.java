package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Every bad input gets a 4xx in OpenAI's error shape with a clear message, and the server keeps serving. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest implements TestPropertyProvider {
    private final Path dataDir = TestServer.newDataDir("bad");

    @Inject
    EmbeddedServer server;

    @Override
    public Map<String, String> getProperties() {
        return TestServer.properties(dataDir);
    }

    private Api api() {
        return new Api(server.getURL().toString());
    }

    /** Checks status, the error shape, and that the message mentions {@code fragment}. */
    private static JsonNode error(Api.Response r, int status, String fragment) {
        assertEquals(status, r.status(), r.body());
        JsonNode e = Json.parse(r.body()).get("error");
        assertTrue(e != null && e.has("message") && e.has("type") && e.has("param") && e.has("code"), r.body());
        assertTrue(
                e.get("message").asText().toLowerCase().contains(fragment.toLowerCase()),
                "'" + fragment + "' not in " + r.body());
        return e;
    }

    @AfterEach
    void stillServing() {
        Api.Response r = api().get("/v1/models", Api.API_KEY);
        assertEquals(200, r.status(), r.body());
        assertEquals(
                200,
                api().post(
                                "/v1/completions",
                                Api.API_KEY,
                                "{\"model\": \"rectify-tiny\", \"prompt\": \"1 +\", \"max_tokens\": 2}")
                        .status());
    }

    @Test
    void keys() {
        error(api().get("/v1/models", null), 401, "missing API key");
        error(api().get("/v1/models", "wrong"), 401, "incorrect API key");
        Api.Response basic = api().send(api().req("/v1/models", null)
                .header("Authorization", "Basic abc")
                .GET()
                .build());
        error(basic, 401, "Bearer");
        error(api().get("/v1/fine_tuning/jobs", Api.API_KEY), 403, "admin key");
        error(api().get("/v1/files", Api.API_KEY), 403, "admin key");
        error(api().post("/v1/admin/adapters", Api.API_KEY, "{}"), 403, "admin key");
        assertEquals(200, api().get("/v1/models", Api.ADMIN_KEY).status(), "the admin key works everywhere");
        error(api().get("/prometheus", null), 401, "missing");
    }

    @Test
    void malformedBodiesAndWrongTypes() {
        error(api().post("/v1/chat/completions", Api.API_KEY, "{\"model\": "), 400, "not valid JSON");
        error(api().post("/v1/chat/completions", Api.API_KEY, "[1, 2]"), 400, "must be a JSON object");
        error(api().post("/v1/chat/completions", Api.API_KEY, ""), 400, "empty");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{\"messages\": []}"), 400, "'model'");
        JsonNode e = error(
                api().post("/v1/chat/completions", Api.API_KEY, "{\"model\": 5, \"messages\": []}"),
                400,
                "must be a string");
        assertEquals("model", e.get("param").asText());
        error(
                api().post("/v1/chat/completions", Api.API_KEY, "{\"model\": \"rectify-tiny\", \"messages\": \"hi\"}"),
                400,
                "non-empty array");
        error(
                api().post(
                                "/v1/chat/completions",
                                Api.API_KEY,
                                "{\"model\": \"rectify-tiny\", \"messages\": [{\"role\": \"wizard\", \"content\": \"hi\"}]}"),
                400,
                "role");
        error(
                api().post(
                                "/v1/chat/completions",
                                Api.API_KEY,
                                "{\"model\": \"rectify-tiny\", \"messages\": [{\"role\": \"user\", \"content\": 3}]}"),
                400,
                "content");
        String ok = "\"model\": \"rectify-tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
        error(
                api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"temperature\": \"hot\"}"),
                400,
                "must be a number");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"temperature\": 7}"), 400, "[0, 2]");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"top_p\": 0}"), 400, "top_p");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"max_tokens\": 1.5}"), 400, "integer");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"max_tokens\": 0}"), 400, "max_tokens");
        error(
                api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"max_tokens\": 99999999}"),
                400,
                "max_tokens");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"n\": 2}"), 400, "n=1");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"stop\": [1]}"), 400, "stop");
        error(
                api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"stream\": \"yes\"}"),
                400,
                "true or false");
        error(api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"seed\": \"x\"}"), 400, "integer");
        error(
                api().post("/v1/chat/completions", Api.API_KEY, "{" + ok + ", \"tools\": [{\"type\": \"function\"}]}"),
                400,
                "not supported");
        error(
                api().post("/v1/completions", Api.API_KEY, "{\"model\": \"rectify-tiny\", \"prompt\": [\"a\", \"b\"]}"),
                400,
                "prompt");
        Api.Response form = api().send(api().req("/v1/chat/completions", Api.API_KEY)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("a=b"))
                .build());
        assertTrue(form.status() == 415 || form.status() == 400, form.body());
        error(form, form.status(), "");
        error(api().get("/v1/nothing-here", Api.API_KEY), 404, "unknown endpoint");
        error(api().send(api().req("/v1/models", Api.API_KEY).DELETE().build()), 405, "not allowed");
    }

    /** Request bodies bind to records: a value of the wrong JSON type is a 400 whose param names the field. */
    @Test
    void constraintViolationsNameTheJsonField() {
        String ok = "\"model\": \"rectify-tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
        Map<String, String> wrong = new LinkedHashMap<>();
        wrong.put("{" + ok + ", \"temperature\": 2.5}", "temperature|'temperature' must be in [0, 2], got 2.5");
        wrong.put("{" + ok + ", \"temperature\": -0.1}", "temperature|got -0.1");
        wrong.put("{" + ok + ", \"top_p\": 0}", "top_p|'top_p' must be in (0, 1], got 0.0");
        wrong.put("{" + ok + ", \"top_p\": 1.01}", "top_p|got 1.01");
        wrong.put("{" + ok + ", \"max_tokens\": 0}", "max_tokens|'max_tokens' must be greater than 0, got 0");
        wrong.put("{" + ok + ", \"max_completion_tokens\": -3}", "max_completion_tokens|got -3");
        wrong.put("{" + ok + ", \"top_k\": -1}", "top_k|got -1");
        wrong.put("{" + ok + ", \"logprobs\": true, \"top_logprobs\": 21}", "top_logprobs|got 21");
        wrong.put("{" + ok + ", \"n\": 0}", "n|only n=1 is supported");
        wrong.put(
                "{\"model\": \"  \", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                "model|'model' must not be blank");
        wrong.put(
                "{\"model\": \"rectify-tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"content\": \"b\"}]}",
                "messages[1].role|missing required parameter 'messages[1].role'");
        wrong.put("{\"model\": \"rectify-tiny\", \"messages\": []}", "messages|'messages' must be a non-empty array");
        for (Map.Entry<String, String> w : wrong.entrySet()) {
            String[] want = w.getValue().split("\\|", 2);
            JsonNode e = error(api().post("/v1/chat/completions", Api.API_KEY, w.getKey()), 400, want[1]);
            assertEquals(want[0], e.get("param").asText(), w.getKey());
            assertEquals("invalid_request_error", e.get("type").asText(), w.getKey());
        }
        String text = "\"model\": \"rectify-tiny\", \"prompt\": \"1 +\"";
        JsonNode lp =
                error(api().post("/v1/completions", Api.API_KEY, "{" + text + ", \"logprobs\": 6}"), 400, "got 6");
        assertEquals("logprobs", lp.get("param").asText());
        JsonNode best =
                error(api().post("/v1/completions", Api.API_KEY, "{" + text + ", \"best_of\": 3}"), 400, "best_of=1");
        assertEquals("best_of", best.get("param").asText());
        JsonNode file = error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                "{\"model\": \"rectify-tiny\", \"training_file\": \"\"}"),
                400,
                "'training_file' must not be blank");
        assertEquals("training_file", file.get("param").asText());
        JsonNode name = error(
                api().post("/v1/admin/adapters", Api.ADMIN_KEY, "{\"path\": \"x\"}"),
                400,
                "missing required parameter 'name'");
        assertEquals("name", name.get("param").asText());
    }

    @Test
    void wrongTypesNameTheField() {
        String chat = "/v1/chat/completions";
        String user = "{\"role\": \"user\", \"content\": \"hi\"}";
        String ok = "\"model\": \"rectify-tiny\", \"messages\": [" + user + "]";
        Map<String, String> wrong = new LinkedHashMap<>();
        wrong.put(
                "{\"model\": \"rectify-tiny\", \"messages\": [" + user + ", {\"role\": [1], \"content\": \"x\"}]}",
                "messages[1].role");
        wrong.put("{\"model\": \"rectify-tiny\", \"messages\": [" + user + ", \"hi\"]}", "messages[1]");
        wrong.put("{" + ok + ", \"temperature\": true}", "temperature");
        wrong.put("{" + ok + ", \"max_tokens\": 1.5}", "max_tokens");
        wrong.put("{" + ok + ", \"stream\": \"yes\"}", "stream");
        wrong.put("{" + ok + ", \"stream_options\": {\"include_usage\": \"yes\"}}", "stream_options.include_usage");
        wrong.put("{" + ok + ", \"stream_options\": 3}", "stream_options");
        wrong.put("{" + ok + ", \"logprobs\": 1}", "logprobs");
        wrong.put("{\"model\": 5, \"messages\": [" + user + "]}", "model");
        for (var e : wrong.entrySet()) {
            JsonNode err = error(api().post(chat, Api.API_KEY, e.getKey()), 400, "'" + e.getValue() + "'");
            assertEquals(e.getValue(), err.get("param").asText(), e.getKey());
        }
        JsonNode e = error(
                api().post(
                                "/v1/completions",
                                Api.API_KEY,
                                "{\"model\": \"rectify-tiny\", \"prompt\": \"a\", \"logprobs\": true}"),
                400,
                "must be an integer");
        assertEquals("logprobs", e.get("param").asText());
        e = error(api().post(chat, Api.API_KEY, "{\"model\": }"), 400, "line 1, column");
        assertEquals("invalid_json", e.get("code").asText());
        assertTrue(e.get("param").isNull(), e.toString());
        e = error(api().post(chat, Api.API_KEY, "\"text\""), 400, "must be a JSON object, found a string");

        e = error(
                api().post(
                                "/v1/admin/adapters",
                                Api.ADMIN_KEY,
                                "{\"name\": \"x\", \"path\": \"a\", \"pinned\": \"yes\"}"),
                400,
                "true or false");
        assertEquals("pinned", e.get("param").asText());
        String job = "{\"model\": \"rectify-tiny\", \"training_file\": \"file-x\", ";
        Map<String, String> jobs = new LinkedHashMap<>();
        jobs.put(job + "\"method\": {\"type\": 5}}", "method.type");
        jobs.put(job + "\"method\": {\"type\": \"dft\", \"dft\": \"x\"}}", "method.dft");
        jobs.put(
                job + "\"method\": {\"type\": \"dft\", \"dft\": {\"hyperparameters\": {\"n_epochs\": \"many\"}}}}",
                "method.dft.hyperparameters.n_epochs");
        jobs.put(job + "\"hyperparameters\": {\"n_epochs\": 1.5}}", "hyperparameters.n_epochs");
        jobs.put(job + "\"seed\": \"x\"}", "seed");
        jobs.put("{\"model\": \"rectify-tiny\", \"training_file\": [\"file-x\"]}", "training_file");
        for (var j : jobs.entrySet()) {
            JsonNode err = error(api().post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, j.getKey()), 400, "");
            assertEquals(j.getValue(), err.get("param").asText(), j.getKey() + " -> " + err);
        }
    }

    @Test
    void unknownModelsAndPathLikeIds() {
        String msgs = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
        JsonNode e = error(
                api().post("/v1/chat/completions", Api.API_KEY, "{\"model\": \"gpt-5\", " + msgs + "}"),
                404,
                "does not exist");
        assertEquals("model_not_found", e.get("code").asText());
        error(
                api().post("/v1/chat/completions", Api.API_KEY, "{\"model\": \"../../etc/passwd\", " + msgs + "}"),
                400,
                "model name");
        error(api().get("/v1/models/..%2F..%2Fetc", Api.API_KEY), 400, "model name");
        error(api().get("/v1/fine_tuning/jobs/..%2F..%2Fetc%2Fpasswd", Api.ADMIN_KEY), 400, "ftjob-");
        error(api().get("/v1/fine_tuning/jobs/ftjob-nope", Api.ADMIN_KEY), 404, "no fine-tuning job");
        error(api().get("/v1/fine_tuning/jobs/ftjob-x/events?after=../../x", Api.ADMIN_KEY), 404, "no fine-tuning job");
        error(api().get("/v1/files/file-..", Api.ADMIN_KEY), 400, "file-");
        error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                "{\"model\": \"rectify-tiny\", \"training_file\": \"../../x.jsonl\"}"),
                400,
                "file-");
        error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                "{\"model\": \"rectify-tiny\", \"training_file\": \"file-missing\"}"),
                404,
                "no file");
        error(
                api().post("/v1/admin/adapters", Api.ADMIN_KEY, "{\"name\": \"x\", \"path\": \"../../etc\"}"),
                400,
                "inside the data folder");
        error(
                api().post("/v1/admin/adapters", Api.ADMIN_KEY, "{\"name\": \"x\", \"path\": \"/etc\"}"),
                400,
                "inside the data folder");
        error(
                api().post("/v1/admin/adapters", Api.ADMIN_KEY, "{\"name\": \"x\", \"path\": \"nowhere\"}"),
                400,
                "no adapter folder");
        error(
                api().post("/v1/admin/adapters", Api.ADMIN_KEY, "{\"name\": \"a//b\", \"path\": \"nowhere\"}"),
                400,
                "model name");
        error(api().get("/v1/fine_tuning/jobs?limit=1000", Api.ADMIN_KEY), 400, "limit");
    }

    @Test
    void badJobsAndFiles() {
        JsonNode e = error(
                api().upload(
                                Api.ADMIN_KEY,
                                "bad.jsonl",
                                ("{\"prompt\": \"a\", \"completion\": \"b\"}\nnot json\n{\"text\": \"x\"}\n{\"prompt\": \"a\"}\n")
                                        .getBytes(StandardCharsets.UTF_8),
                                "fine-tune"),
                400,
                "line 2");
        assertTrue(
                e.get("message").asText().contains("line 3")
                        && e.get("message").asText().contains("line 4"),
                e.toString());
        error(api().upload(Api.ADMIN_KEY, "empty.jsonl", new byte[0], "fine-tune"), 400, "no examples");
        error(
                api().upload(Api.ADMIN_KEY, "bin.jsonl", new byte[] {(byte) 0xff, (byte) 0xfe, 0x41}, "fine-tune"),
                400,
                "UTF-8");
        error(api().upload(Api.ADMIN_KEY, "x.jsonl", Api.mathLines(2), "assistants"), 400, "purpose");
        error(api().upload(Api.ADMIN_KEY, "x.jsonl", null, "fine-tune"), 400, "file");
        String fileId = api().upload(Api.ADMIN_KEY, "../../evil.jsonl", Api.mathLines(4), "fine-tune")
                .json()
                .get("id")
                .asText();
        assertEquals(
                "evil.jsonl",
                api().get("/v1/files/" + fileId, Api.ADMIN_KEY)
                        .json()
                        .get("filename")
                        .asText());

        String job = "{\"model\": \"rectify-tiny\", \"training_file\": \"" + fileId + "\", ";
        error(
                api().post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, job + "\"method\": {\"type\": \"dpo\"}}"),
                400,
                "supervised");
        error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                job
                                        + "\"method\": {\"type\": \"dft\", \"dft\": {\"hyperparameters\": {\"n_epochs\": \"many\"}}}}"),
                400,
                "integer");
        error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                job
                                        + "\"method\": {\"type\": \"dft\", \"dft\": {\"hyperparameters\": {\"learning_rate\": 5}}}}"),
                400,
                "learning rate");
        error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                job
                                        + "\"method\": {\"type\": \"dft\", \"dft\": {\"hyperparameters\": {\"warp\": 9}}}}"),
                400,
                "unknown hyperparameter");
        error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                job
                                        + "\"method\": {\"type\": \"dft\", \"dft\": {\"hyperparameters\": {\"lora_targets\": \"q_proj\"}}}}"),
                400,
                "lora_targets");
        error(api().post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, job + "\"suffix\": \"../x\"}"), 400, "suffix");
        error(
                api().post(
                                "/v1/fine_tuning/jobs",
                                Api.ADMIN_KEY,
                                "{\"model\": \"gpt-4o\", \"training_file\": \"" + fileId + "\"}"),
                404,
                "does not exist");
        error(api().post("/v1/fine_tuning/jobs/ftjob-abc/cancel", Api.ADMIN_KEY, ""), 404, "no fine-tuning job");
    }

    @Test
    void oversizedBodies() {
        String big = "{\"model\": \"rectify-tiny\", \"prompt\": \"" + "x".repeat(70_000) + "\"}";
        error(api().post("/v1/completions", Api.API_KEY, big), 413, "too large");
        // Far more than the socket buffers hold: the 413 goes out while the client is still sending, and must
        // still reach it (the server reads and drops the rest before it closes, instead of resetting).
        String huge = "{\"model\": \"rectify-tiny\", \"prompt\": \"" + "x".repeat(8 << 20) + "\"}";
        for (int i = 0; i < 3; i++) {
            error(api().post("/v1/completions", Api.API_KEY, huge), 413, "too large");
        }
        String longPrompt = "{\"model\": \"rectify-tiny\", \"prompt\": \"" + "12 + 30 = 42. ".repeat(3000) + "\"}";
        JsonNode e = error(api().post("/v1/completions", Api.API_KEY, longPrompt), 400, "context window");
        assertEquals("context_length_exceeded", e.get("code").asText());
        assertTrue(e.get("message").asText().contains("at least"), "refused from its size, before tokenizing: " + e);
        String fewBytesManyTokens = "{\"model\": \"rectify-tiny\", \"prompt\": \"" + "7 ".repeat(600) + "\"}";
        e = error(api().post("/v1/completions", Api.API_KEY, fewBytesManyTokens), 400, "context window");
        assertEquals("prompt", e.get("param").asText());
        assertEquals("context_length_exceeded", e.get("code").asText());
    }
}
