package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The server on the models as people publish them ({@code shared/models/wild}): ONNX Runtime's transformers-optimizer
 * GPT-2 (opset 11, float16, fused Attention, int32 inputs) and ONNX Runtime GenAI's Llama (float16, KV cache always
 * an input). A supervised job trains a LoRA adapter on the served model, and {@code /v1/completions} serves the
 * adapter (multi-LoRA) with the SDK's merged model's text, unlike the base.
 */
abstract class WildModelServerCase implements TestPropertyProvider {
    private final Path dataDir = TestServer.newDataDir("wild");

    @Inject
    EmbeddedServer server;

    @Inject
    BaseModel base;

    /** The wild model's folder name. */
    abstract String folder();

    /** A prompt and a reply whose tokens lie in the model's vocabulary. */
    abstract String prompt();

    abstract String reply();

    @Override
    public Map<String, String> getProperties() {
        Map<String, String> p = TestServer.properties(dataDir);
        p.put(
                "rectify.model",
                Path.of(System.getProperty("rectify.test.wild", "../../shared/models/wild"))
                        .resolve(folder())
                        .toAbsolutePath()
                        .normalize()
                        .toString());
        return p;
    }

    private String complete(Api api, String model) {
        Api.Response r = api.post(
                "/v1/completions",
                Api.API_KEY,
                "{\"model\": \"" + model + "\", \"prompt\": \"" + prompt()
                        + "\", \"temperature\": 0, \"max_tokens\": 8}");
        assertEquals(200, r.status(), r.body());
        return r.json().at("/choices/0/text").asText();
    }

    @Test
    void fineTunesAndServesALoraAdapter() throws Exception {
        Api api = new Api(server.getURL().toString());
        String line = "{\"prompt\": \"" + prompt() + "\", \"completion\": \"" + reply() + "\"}";
        byte[] data = (String.join("\n", Collections.nCopies(8, line)) + "\n").getBytes(StandardCharsets.UTF_8);
        Api.Response up = api.upload(Api.ADMIN_KEY, "wild.jsonl", data, "fine-tune");
        assertEquals(200, up.status(), up.body());
        String job = "{\"model\": \"" + folder() + "\", \"training_file\": \""
                + up.json().get("id").asText()
                + "\", \"seed\": 7, \"method\": {\"type\": \"supervised\", \"supervised\": {\"hyperparameters\": "
                + "{\"max_steps\": 10, \"batch_size\": 4, \"lora_rank\": 4, \"lora_alpha\": 8, \"learning_rate\": 0.01, "
                + "\"max_seq_length\": 64}}}}";
        Api.Response created = api.post("/v1/fine_tuning/jobs", Api.ADMIN_KEY, job);
        assertEquals(200, created.status(), created.body());
        String jobId = created.json().get("id").asText();
        List<String> events =
                Api.data(api.sseGet("/v1/fine_tuning/jobs/" + jobId + "/events?stream=true", Api.ADMIN_KEY));
        assertEquals("[DONE]", events.get(events.size() - 1));
        JsonNode done = api.get("/v1/fine_tuning/jobs/" + jobId, Api.ADMIN_KEY).json();
        assertEquals("succeeded", done.get("status").asText(), done + " " + events);
        String tuned = done.get("fine_tuned_model").asText();
        assertTrue(tuned.startsWith("ft:" + folder() + ":"), tuned);

        String served = complete(api, tuned);
        assertNotEquals(complete(api, folder()), served, "the adapter changes the completion");
        try (AdaptedModel merged = AdaptedModel.of(
                base, AdapterFiles.read(dataDir.resolve("adapters").resolve(jobId), null))) {
            assertEquals(
                    merged.generate(prompt(), Sampling.greedy().maxNewTokens(8)).text(),
                    served,
                    "served (multi-LoRA) = the SDK's merged model");
        }
    }
}
