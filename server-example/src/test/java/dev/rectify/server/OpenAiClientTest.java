package dev.rectify.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponse;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.PermissionDeniedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.files.FileCreateParams;
import com.openai.models.files.FileObject;
import com.openai.models.files.FilePurpose;
import com.openai.models.finetuning.jobs.FineTuningJob;
import com.openai.models.finetuning.jobs.FineTuningJobEvent;
import com.openai.models.finetuning.jobs.JobCreateParams;
import com.openai.models.finetuning.jobs.checkpoints.FineTuningJobCheckpoint;
import com.openai.models.finetuning.methods.SupervisedHyperparameters;
import com.openai.models.finetuning.methods.SupervisedMethod;
import com.openai.models.models.Model;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.core.ChatMessage;
import dev.rectify.generate.Sampling;
import dev.rectify.job.CheckpointAdapters;
import dev.rectify.model.BaseModel;
import dev.rectify.server.db.JobRecord;
import dev.rectify.server.db.JobRepository;
import dev.rectify.train.FineTuneOptions;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The server through the official OpenAI Java client ({@code com.openai:openai-java}), with response validation on, so
 * every answer must parse into the client's types: files (upload, list, retrieve, content, delete), a supervised
 * fine-tune with {@code loss_type: "dft"} and metadata, pause and resume, events, checkpoints, the metrics CSV in
 * {@code result_files}, then chat (streamed and not, with logprobs) and completions on the fine-tuned model, a model name with '/',
 * checkpoint models served until their checkpoints are deleted, and {@code DELETE /v1/models/{model}}. The client talks only
 * to the embedded server.
 */
@MicronautTest(transactional = false) // the checkpoint retention called here deletes rows the server must see at once
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
/** Size: the official client's fine-tune-then-chat flow, whose tests share one server, one job and the models it made. */
class OpenAiClientTest implements TestPropertyProvider {
    private static final String BASE = "rectify-tiny";

    private final Path dataDir = TestServer.newDataDir("openai-client");

    @Inject
    EmbeddedServer server;

    private static String fileId;
    private static String jobId;
    private static String fineTuned;

    @Override
    public Map<String, String> getProperties() {
        return TestServer.properties(dataDir);
    }

    private OpenAIClient client(String key) {
        return client(key, true);
    }

    private OpenAIClient client(String key, boolean validate) {
        return OpenAIOkHttpClient.builder()
                .baseUrl(server.getURL() + "/v1")
                .apiKey(key)
                .responseValidation(validate)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(120))
                .build();
    }

    /** The client without response validation: version 4.105.0's job status enum lacks OpenAI's "paused". */
    private OpenAIClient lenientAdmin() {
        return client(Api.ADMIN_KEY, false);
    }

    private OpenAIClient admin() {
        return client(Api.ADMIN_KEY);
    }

    @Test
    @Order(1)
    void listsAndRetrievesTheBaseModel() {
        List<Model> models = client(Api.API_KEY).models().list().data();
        assertTrue(models.stream().anyMatch(m -> m.id().equals(BASE)), models.toString());
        Model m = client(Api.API_KEY).models().retrieve(BASE);
        assertEquals(BASE, m.id());
        assertEquals("rectify", m.ownedBy());
        NotFoundException e = assertThrows(
                NotFoundException.class, () -> client(Api.API_KEY).models().retrieve("no-such-model"));
        assertEquals("model_not_found", e.code().orElseThrow());
    }

    @Test
    @Order(2)
    void uploadsListsRetrievesAndReadsFiles() throws Exception {
        Path jsonl = dataDir.resolve("math-upload.jsonl");
        Files.write(jsonl, Api.mathLines(12));
        FileObject f = admin().files()
                .create(FileCreateParams.builder()
                        .file(jsonl)
                        .purpose(FilePurpose.FINE_TUNE)
                        .build());
        fileId = f.id();
        assertEquals("math-upload.jsonl", f.filename());
        assertEquals(FileObject.Purpose.FINE_TUNE, f.purpose());
        assertEquals(Files.size(jsonl), f.bytes());
        assertEquals(fileId, admin().files().retrieve(fileId).id());
        assertTrue(admin().files().list().data().stream().anyMatch(x -> x.id().equals(fileId)));
        assertEquals(Files.readString(jsonl), content(fileId));

        // a second file, deleted again
        FileObject other = admin().files()
                .create(FileCreateParams.builder()
                        .file(jsonl)
                        .purpose(FilePurpose.FINE_TUNE)
                        .build());
        assertTrue(admin().files().delete(other.id()).deleted());
        assertThrows(NotFoundException.class, () -> admin().files().retrieve(other.id()));
    }

    private String content(String id) throws Exception {
        try (HttpResponse r = admin().files().content(id);
                InputStream in = r.body()) {
            assertEquals(200, r.statusCode());
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    @Order(3)
    void fineTunesWithSupervisedDftPausesResumesAndReportsLikeOpenAi() throws Exception {
        SupervisedHyperparameters hp = SupervisedHyperparameters.builder()
                .batchSize(4)
                .nEpochs(1)
                .putAdditionalProperty("loss_type", JsonValue.from("dft"))
                .putAdditionalProperty("max_steps", JsonValue.from(4))
                .putAdditionalProperty("lora_rank", JsonValue.from(4))
                .putAdditionalProperty("lora_alpha", JsonValue.from(8))
                .putAdditionalProperty("learning_rate", JsonValue.from(0.001))
                .putAdditionalProperty("max_seq_length", JsonValue.from(96))
                .build();
        JobCreateParams params = JobCreateParams.builder()
                .model(BASE)
                .trainingFile(fileId)
                .seed(7)
                .suffix("client")
                .metadata(JobCreateParams.Metadata.builder()
                        .putAdditionalProperty("team", JsonValue.from("math"))
                        .putAdditionalProperty("ticket", JsonValue.from("RF-11"))
                        .build())
                .method(JobCreateParams.Method.builder()
                        .type(JobCreateParams.Method.Type.SUPERVISED)
                        .supervised(
                                SupervisedMethod.builder().hyperparameters(hp).build())
                        .build())
                .build();
        FineTuningJob job = admin().fineTuning().jobs().create(params);
        jobId = job.id();
        assertEquals(BASE, job.model());
        assertEquals(7, job.seed());
        assertEquals("supervised", job.method().orElseThrow().type().asString());
        Map<String, JsonValue> hyper = job.method()
                .orElseThrow()
                .supervised()
                .orElseThrow()
                .hyperparameters()
                .orElseThrow()
                ._additionalProperties();
        assertEquals(JsonValue.from("dft"), hyper.get("loss_type"));
        assertEquals(
                Map.of("team", JsonValue.from("math"), "ticket", JsonValue.from("RF-11")),
                job.metadata().orElseThrow()._additionalProperties());

        // pause at once (queued, or running and stopped at a checkpoint), then resume from there
        FineTuningJob paused = lenientAdmin().fineTuning().jobs().pause(jobId);
        String s = paused.status().asString();
        for (int i = 0; i < 100 && !s.equals("paused") && !isTerminal(s); i++) {
            Thread.sleep(100);
            s = lenientAdmin().fineTuning().jobs().retrieve(jobId).status().asString();
        }
        assertEquals(
                "paused",
                s,
                "the job did not pause (it ran "
                        + lenientAdmin().fineTuning().jobs().retrieve(jobId) + ")");
        Thread.sleep(300);
        assertEquals(
                "paused",
                lenientAdmin().fineTuning().jobs().retrieve(jobId).status().asString(),
                "a paused job stays paused");
        assertTrue(lenientAdmin()
                .fineTuning()
                .jobs()
                .retrieve(jobId)
                .estimatedFinish()
                .isEmpty());
        assertEquals(
                "job_not_found",
                assertThrows(
                                NotFoundException.class,
                                () -> lenientAdmin().fineTuning().jobs().pause(jobId + "x"))
                        .code()
                        .orElseThrow());
        FineTuningJob resumed = lenientAdmin().fineTuning().jobs().resume(jobId);
        assertTrue(
                Set.of("queued", "running", "succeeded")
                        .contains(resumed.status().asString()),
                resumed.toString());

        FineTuningJob done = awaitEnd(jobId);
        assertEquals("succeeded", done.status().asString(), done.toString());
        fineTuned = done.fineTunedModel().orElseThrow();
        assertTrue(fineTuned.startsWith("ft:" + BASE + ":client:"), fineTuned);
        assertTrue(done.finishedAt().isPresent());
        assertTrue(done.trainedTokens().orElseThrow() > 0);
        assertEquals(
                "math",
                done.metadata()
                        .orElseThrow()
                        ._additionalProperties()
                        .get("team")
                        .asString()
                        .orElseThrow());
        assertTrue(admin().fineTuning().jobs().list().data().stream().anyMatch(j -> j.id().equals(jobId)));
        BadRequestException ended = assertThrows(
                BadRequestException.class, () -> admin().fineTuning().jobs().pause(jobId));
        assertEquals("job_not_pausable", ended.code().orElseThrow());
        assertEquals(
                "job_not_paused",
                assertThrows(
                                BadRequestException.class,
                                () -> admin().fineTuning().jobs().resume(jobId))
                        .code()
                        .orElseThrow());

        // events, oldest to newest through the pages: the pause, the resume and each step's metrics
        List<FineTuningJobEvent> events = admin().fineTuning().jobs().listEvents(jobId).autoPager().stream()
                .toList();
        String messages = events.stream().map(FineTuningJobEvent::message).collect(Collectors.joining("\n"));
        assertTrue(messages.contains("Job paused"), messages);
        assertTrue(messages.contains("Job resumed"), messages);
        assertTrue(messages.contains("The job has successfully completed"), messages);
        assertTrue(
                events.stream()
                        .anyMatch(e -> e.type()
                                .map(t -> t.asString().equals("metrics"))
                                .orElse(false)),
                messages);

        // checkpoints: one per step; the last is the fine-tuned model itself
        List<FineTuningJobCheckpoint> ckpts =
                admin().fineTuning().jobs().checkpoints().list(jobId).data();
        assertFalse(ckpts.isEmpty());
        assertEquals(fineTuned, ckpts.get(0).fineTunedModelCheckpoint());
        assertEquals(4, ckpts.get(0).stepNumber());
        assertTrue(ckpts.get(0).metrics().trainLoss().isPresent(), ckpts.get(0).toString());

        // result_files: the metrics CSV, one row per step
        assertEquals(1, done.resultFiles().size());
        FileObject results = admin().files().retrieve(done.resultFiles().get(0));
        assertEquals(FileObject.Purpose.FINE_TUNE_RESULTS, results.purpose());
        List<String> csv = content(results.id()).lines().toList();
        assertTrue(csv.get(0).startsWith("step,train_loss,valid_loss,valid_mean_token_accuracy"), csv.get(0));
        assertEquals(5, csv.size(), String.join("\n", csv));
        for (int step = 1; step <= 4; step++) {
            String[] row = csv.get(step).split(",", -1);
            assertEquals(Integer.toString(step), row[0]);
            assertTrue(Double.parseDouble(row[1]) > 0, csv.get(step));
        }
    }

    private static boolean isTerminal(String s) {
        return s.equals("succeeded") || s.equals("failed") || s.equals("cancelled");
    }

    private FineTuningJob awaitEnd(String id) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        FineTuningJob j = admin().fineTuning().jobs().retrieve(id);
        while (!isTerminal(j.status().asString()) && System.nanoTime() < deadline) {
            if (j.status().asString().equals("running") && j.estimatedFinish().isPresent()) {
                assertTrue(j.estimatedFinish().get() >= j.createdAt(), j.toString());
            }
            Thread.sleep(200);
            j = admin().fineTuning().jobs().retrieve(id);
        }
        return j;
    }

    @Test
    @Order(4)
    void chatsAndCompletesWithTheFineTunedModel() {
        OpenAIClient c = client(Api.API_KEY);
        assertTrue(c.models().list().data().stream().anyMatch(m -> m.id().equals(fineTuned)));
        assertEquals(fineTuned, c.models().retrieve(fineTuned).id());

        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder()
                .model(fineTuned)
                .addSystemMessage("You solve arithmetic.")
                .addUserMessage("What is 12 + 7?")
                .maxCompletionTokens(12)
                .temperature(0.0)
                .seed(3)
                .build();
        ChatCompletion answer = c.chat().completions().create(chat);
        assertEquals(fineTuned, answer.model());
        String text = answer.choices().get(0).message().content().orElseThrow();
        assertTrue(answer.usage().orElseThrow().completionTokens() > 0);
        assertTrue(answer.usage().orElseThrow().promptTokens() > 0);

        // streamed: the same greedy text, piece by piece
        StringBuilder streamed = new StringBuilder();
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream = c.chat().completions().createStreaming(chat)) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                for (ChatCompletionChunk.Choice ch : chunk.choices()) {
                    ch.delta().content().ifPresent(streamed::append);
                    if (ch.finishReason().isPresent()) {
                        finish = ch.finishReason().get().asString();
                    }
                }
            }
        }
        assertEquals(text, streamed.toString());
        assertEquals(answer.choices().get(0).finishReason().asString(), finish);

        // logprobs: greedy decoding picks each position's most likely token, so it heads its own top_logprobs
        ChatCompletion withLogprobs = c.chat()
                .completions()
                .create(chat.toBuilder().logprobs(true).topLogprobs(3).build());
        assertEquals(text, withLogprobs.choices().get(0).message().content().orElseThrow());
        List<ChatCompletionTokenLogprob> tokens =
                withLogprobs.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        assertEquals(withLogprobs.usage().orElseThrow().completionTokens(), tokens.size());
        for (ChatCompletionTokenLogprob t : tokens) {
            assertTrue(t.logprob() <= 0, t.toString());
            assertEquals(3, t.topLogprobs().size());
            assertEquals(t.token(), t.topLogprobs().get(0).token());
            assertEquals(t.logprob(), t.topLogprobs().get(0).logprob(), 1e-9);
            assertTrue(
                    t.topLogprobs().get(1).logprob() <= t.topLogprobs().get(0).logprob());
        }
        assertTrue(answer.choices().get(0).logprobs().isEmpty(), "no logprobs unless asked for");
        BadRequestException streamedLogprobs = assertThrows(BadRequestException.class, () -> {
            try (StreamResponse<ChatCompletionChunk> s = c.chat()
                    .completions()
                    .createStreaming(chat.toBuilder().logprobs(true).build())) {
                s.stream().count();
            }
        });
        assertEquals("logprobs", streamedLogprobs.param().orElseThrow());
        assertEquals(
                "top_logprobs",
                assertThrows(
                                BadRequestException.class,
                                () -> c.chat()
                                        .completions()
                                        .create(chat.toBuilder().topLogprobs(2).build()))
                        .param()
                        .orElseThrow());

        Completion completion = c.completions()
                .create(CompletionCreateParams.builder()
                        .model(fineTuned)
                        .prompt("12 + 7 =")
                        .maxTokens(8)
                        .temperature(0.0)
                        .build());
        assertEquals("text_completion", completion._object_().asString().orElseThrow());
        assertFalse(completion.choices().isEmpty());
        assertTrue(completion.usage().orElseThrow().completionTokens() > 0);
        Completion scored = c.completions()
                .create(CompletionCreateParams.builder()
                        .model(fineTuned)
                        .prompt("12 + 7 =")
                        .maxTokens(8)
                        .temperature(0.0)
                        .logprobs(2)
                        .build());
        var lp = scored.choices().get(0).logprobs().orElseThrow();
        assertEquals(
                scored.usage().orElseThrow().completionTokens(),
                lp.tokenLogprobs().orElseThrow().size());
        assertEquals(
                lp.tokens().orElseThrow().size(), lp.topLogprobs().orElseThrow().size());
        assertTrue(lp.tokenLogprobs().orElseThrow().stream().allMatch(x -> x <= 0));
    }

    @Test
    @Order(5)
    void servesListedCheckpointModelsUntilTheirCheckpointsAreDeleted() {
        // checkpoints every step of 4 (the test server's checkpoint-every is 1): the job keeps the newest 3 (2, 3, 4)
        List<String> listed = admin().fineTuning().jobs().checkpoints().list(jobId).data().stream()
                .map(FineTuningJobCheckpoint::fineTunedModelCheckpoint)
                .toList();
        String step1 = fineTuned + ":ckpt-step-1";
        String step2 = fineTuned + ":ckpt-step-2";
        String step3 = fineTuned + ":ckpt-step-3";
        assertTrue(listed.containsAll(List.of(fineTuned, step2, step3)), listed.toString());
        assertFalse(listed.contains(step1), "step 1's checkpoint was pruned, so it is not listed: " + listed);

        OpenAIClient c = client(Api.API_KEY);
        ChatCompletionCreateParams chat = ChatCompletionCreateParams.builder()
                .model(step2)
                .addUserMessage("What is 12 + 7?")
                .maxCompletionTokens(12)
                .temperature(0.0)
                .logprobs(true)
                .topLogprobs(2)
                .build();
        ChatCompletion answer = c.chat().completions().create(chat);
        assertEquals(step2, answer.model());
        String text = answer.choices().get(0).message().content().orElseThrow();

        // the SDK's adapter of the step-2 checkpoint, made independently, generates the same text
        BaseModel base = server.getApplicationContext().getBean(BaseModel.class);
        JobRecord job = server.getApplicationContext()
                .getBean(JobRepository.class)
                .findById(jobId)
                .orElseThrow();
        FineTuneOptions options = JobSpec.fromJson(job.getHyperparameters())
                .options()
                .seed(job.getSeed())
                .build();
        Adapter expected = CheckpointAdapters.of(
                base, jobId, options, dataDir.resolve("runs").resolve(jobId), 2);
        String prompt = base.applyChatTemplate(List.of(ChatMessage.user("What is 12 + 7?")), true);
        try (AdaptedModel m = AdaptedModel.of(base, expected)) {
            assertEquals(
                    m.generate(prompt, Sampling.sample(0.0).maxNewTokens(12)).text(), text);
        }

        // its token probabilities are its own: not the base model's, not the final fine-tune's
        List<Double> atStep2 = firstLogprobs(c, step2);
        assertFalse(atStep2.equals(firstLogprobs(c, BASE)), atStep2.toString());
        assertFalse(atStep2.equals(firstLogprobs(c, fineTuned)), atStep2.toString());
        assertEquals(
                step3,
                c.chat()
                        .completions()
                        .create(chat.toBuilder().model(step3).build())
                        .model());

        // step 1's checkpoint was deleted when step 4's was saved: not listed, not servable
        assertModelNotFound(c, chat, step1);

        // the retention deletes the finished job's checkpoints: their models go, the fine-tuned model stays
        assertTrue(server.getApplicationContext()
                .getBean(CheckpointRetention.class)
                .sweep(Duration.ZERO)
                .contains(jobId));
        for (String gone : List.of(step2, step3)) {
            assertModelNotFound(c, chat, gone);
        }
        assertEquals(
                fineTuned,
                c.chat()
                        .completions()
                        .create(chat.toBuilder().model(fineTuned).build())
                        .model());
        assertEquals(
                List.of(fineTuned),
                admin().fineTuning().jobs().checkpoints().list(jobId).data().stream()
                        .map(FineTuningJobCheckpoint::fineTunedModelCheckpoint)
                        .toList(),
                "after the retention only the fine-tuned model is listed");
    }

    /** The log-probabilities of the first generated token's top 2 alternatives under {@code model}. */
    /** A chat completion naming {@code model} is refused as OpenAI refuses an unknown model. */
    private static void assertModelNotFound(OpenAIClient c, ChatCompletionCreateParams chat, String model) {
        NotFoundException e = assertThrows(
                NotFoundException.class,
                () -> c.chat()
                        .completions()
                        .create(chat.toBuilder().model(model).build()));
        assertEquals("model_not_found", e.code().orElseThrow(), model);
    }

    private static List<Double> firstLogprobs(OpenAIClient c, String model) {
        ChatCompletion a = c.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model(model)
                        .addUserMessage("What is 12 + 7?")
                        .maxCompletionTokens(1)
                        .temperature(0.0)
                        .logprobs(true)
                        .topLogprobs(2)
                        .build());
        return a.choices().get(0).logprobs().orElseThrow().content().orElseThrow().get(0).topLogprobs().stream()
                .map(t -> t.logprob())
                .toList();
    }

    @Test
    @Order(6)
    void servesAndDeletesAModelWhoseNameHasASlash() {
        String name = "acme/math-dft";
        var load = new Api(server.getURL().toString())
                .post(
                        "/v1/admin/adapters",
                        Api.ADMIN_KEY,
                        "{\"name\": \"" + name + "\", \"path\": \"adapters/" + jobId + "\"}");
        assertEquals(200, load.status(), load.body());
        OpenAIClient c = client(Api.API_KEY);
        assertEquals(name, c.models().retrieve(name).id());
        ChatCompletion a = c.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model(name)
                        .addUserMessage("What is 2 + 2?")
                        .maxCompletionTokens(4)
                        .temperature(0.0)
                        .build());
        assertEquals(name, a.model());

        // deleting needs the admin key
        assertThrows(PermissionDeniedException.class, () -> c.models().delete(name));
        assertTrue(admin().models().delete(name).deleted());
        assertThrows(NotFoundException.class, () -> c.models().retrieve(name));
        assertThrows(BadRequestException.class, () -> admin().models().delete(BASE));

        assertTrue(admin().models().delete(fineTuned).deleted());
        NotFoundException gone = assertThrows(
                NotFoundException.class,
                () -> c.chat()
                        .completions()
                        .create(ChatCompletionCreateParams.builder()
                                .model(fineTuned)
                                .addUserMessage("hi")
                                .maxCompletionTokens(2)
                                .build()));
        assertEquals("model", gone.param().orElseThrow());
    }
}
