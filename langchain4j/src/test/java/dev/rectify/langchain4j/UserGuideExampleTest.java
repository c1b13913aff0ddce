package dev.rectify.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.rectify.Rectify;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.generate.Sampling;
import dev.rectify.job.FineTuneJob;
import dev.rectify.job.FineTuneRequest;
import dev.rectify.job.FineTuneService;
import dev.rectify.job.JobEvent;
import dev.rectify.job.JobStatus;
import dev.rectify.model.BaseModel;
import dev.rectify.model.TextModel;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainingCancelledException;
import dev.rectify.train.TrainingProgress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The user guide's "LangChain4j and background fine-tuning" examples, compiled and run: the methods between
 * {@code // guide:NAME} and {@code // guide:end} are the guide's code blocks (a test fails when they drift apart).
 * The flow: fine-tune the bundled model in the background (CompletableFuture, progress events), chat with the
 * adapter through LangChain4j (the reply differs from the base model's and is the SDK's own greedy reply), stream
 * it; a cancelled job ends cancelled.
 */
class UserGuideExampleTest {
    private static final String QUESTION = "What is 17 + 25?";

    // guide:fine-tune
    static Adapter fineTuneInBackground(BaseModel base, List<Example> examples, List<TrainingProgress> progress)
            throws Exception {
        FineTuneOptions options = FineTuneOptions.builder()
                .objective(Objective.SFT)
                .lora(8, 16)
                .maxSteps(24)
                .learningRate(1e-2)
                .seed(1)
                .build();
        try (FineTuneService service = FineTuneService.builder().build()) {
            FineTuneJob job = service.submit(FineTuneRequest.of(base, examples, options), event -> {
                if (event.kind() == JobEvent.Kind.PROGRESS) {
                    progress.add(event.progress()); // step, loss, learning rate, tokens/s, ETA
                }
            });
            CompletableFuture<Adapter> adapter = job.result(); // job.cancel() ends it within one step
            return adapter.get(10, TimeUnit.MINUTES);
        }
    }
    // guide:end

    // guide:langchain4j
    static String ask(BaseModel base, Adapter adapter, String question) {
        try (RectifyChatModel chat = RectifyChat.newBuilder()
                .model(base)
                .adapter(adapter)
                .temperature(0)
                .maxOutputTokens(64)
                .build()) {
            return chat.chat(question); // a ChatModel: use it wherever LangChain4j takes one
        }
    }

    static ChatResponse stream(TextModel model, String question, Consumer<String> onToken) throws Exception {
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        try (RectifyStreamingChatModel chat =
                RectifyChat.newBuilder().model(model).maxOutputTokens(64).buildStreaming()) {
            chat.chat(question, new StreamingChatResponseHandler() {
                @Override
                public void onPartialResponse(String token) {
                    onToken.accept(token);
                }

                @Override
                public void onCompleteResponse(ChatResponse response) {
                    done.complete(response); // the whole message, token usage, finish reason
                }

                @Override
                public void onError(Throwable error) {
                    done.completeExceptionally(error);
                }
            });
        }
        return done.get();
    }
    // guide:end

    /** Short answers instead of the base model's worked steps: a change in behaviour anyone can see. */
    private static List<Example> shortAnswers() {
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            int a = 11 + 7 * i;
            int b = 30 + 5 * i;
            out.add(Example.of("What is " + a + " + " + b + "?", "Answer: " + (a + b)));
        }
        return out;
    }

    @Test
    void fineTuneInTheBackgroundThenChatAndStreamWithTheAdapter() throws Exception {
        try (BaseModel base = Rectify.bundledModel()) {
            List<TrainingProgress> progress = new CopyOnWriteArrayList<>();
            Adapter adapter = fineTuneInBackground(base, shortAnswers(), progress);
            assertEquals(
                    24,
                    progress.stream()
                            .filter(p -> p.phase() == TrainingProgress.Phase.TRAIN)
                            .count());
            assertTrue(
                    progress.get(progress.size() - 1).loss() < progress.get(0).loss(), "the loss falls: " + progress);

            String adapted = ask(base, adapter, QUESTION);
            String plain = base.chat(
                            List.of(ChatMessage.user(QUESTION)),
                            Sampling.greedy().maxNewTokens(64),
                            t -> {})
                    .text();
            assertNotEquals(plain, adapted, "the adapter changes the reply");
            try (AdaptedModel m = Rectify.apply(base, adapter)) {
                assertEquals(
                        m.chat(
                                        List.of(ChatMessage.user(QUESTION)),
                                        Sampling.greedy().maxNewTokens(64),
                                        t -> {})
                                .text(),
                        adapted,
                        "LangChain4j's reply is the SDK's greedy reply with the adapter");
                StringBuilder tokens = new StringBuilder();
                ChatResponse streamed = stream(m, QUESTION, tokens::append);
                assertEquals(adapted, streamed.aiMessage().text());
                assertEquals(adapted, tokens.toString());
                assertTrue(streamed.tokenUsage().outputTokenCount() > 0
                        && streamed.tokenUsage().inputTokenCount() > 0);
            }
        }
    }

    @Test
    void aCancelledJobCompletesExceptionally() {
        FineTuneOptions options = FineTuneOptions.builder()
                .objective(Objective.SFT)
                .lora(4, 8)
                .maxSteps(50)
                .build();
        try (FineTuneService service = FineTuneService.builder().build()) {
            FineTuneJob job = service.submit(FineTuneRequest.of(TinyModel.get(), shortAnswers(), options));
            job.addListener(e -> {
                if (e.kind() == JobEvent.Kind.PROGRESS && e.step() == 2) {
                    job.cancel();
                }
            });
            CompletionException stopped =
                    assertThrows(CompletionException.class, () -> job.result().join());
            assertInstanceOf(TrainingCancelledException.class, stopped.getCause());
            assertEquals(JobStatus.CANCELLED, job.status());
            assertTrue(job.step() < 50, "stopped early, at step " + job.step());
        }
    }

    @Test
    void theUserGuideShowsThisCode() throws IOException {
        String guide = Files.readString(
                TinyModel.dir().resolve("../../docs/user-guide.md").normalize());
        String source = Files.readString(Path.of("src/test/java/dev/rectify/langchain4j/UserGuideExampleTest.java"));
        for (String name : List.of("fine-tune", "langchain4j")) {
            Matcher code = Pattern.compile("// guide:" + name + "\n(.*?)\n\\s*// guide:end", Pattern.DOTALL)
                    .matcher(source);
            assertTrue(code.find(), "no region " + name + " in the test");
            Matcher doc = Pattern.compile("<!-- guide:" + name + " -->\n```java\n(.*?)\n```", Pattern.DOTALL)
                    .matcher(guide);
            assertTrue(doc.find(), "no block <!-- guide:" + name + " --> in docs/user-guide.md");
            assertEquals(
                    code.group(1).stripIndent().strip(),
                    doc.group(1).stripIndent().strip(),
                    "docs/user-guide.md's " + name
                            + " example differs from UserGuideExampleTest: copy the test's code");
        }
    }
}
