package dev.rectify.langchain4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.rectify.core.ChatMessage;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The streaming chat model on the bundled model: the partial responses are the decoded pieces in order and add up
 * to the final message, which is the SDK's own reply with its token usage; cancelling stops the stream; errors reach
 * {@code onError}.
 */
class RectifyStreamingChatModelTest {
    private static final String QUESTION = "Compute 845 - 411.";

    /** Records everything a handler is told. */
    private static final class Recorder implements StreamingChatResponseHandler {
        final List<String> partials = new CopyOnWriteArrayList<>();
        final List<Thread> threads = new CopyOnWriteArrayList<>();
        final CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();

        @Override
        public void onPartialResponse(String text) {
            partials.add(text);
            threads.add(Thread.currentThread());
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            done.complete(response);
        }

        @Override
        public void onError(Throwable t) {
            error.set(t);
            done.completeExceptionally(t);
        }
    }

    @Test
    void partialResponsesAddUpToTheFinalMessageWithItsTokenUsage() {
        Generation g = TinyModel.get()
                .chat(List.of(ChatMessage.user(QUESTION)), Sampling.greedy().maxNewTokens(64), t -> {});
        try (RectifyStreamingChatModel chat = RectifyChat.newBuilder()
                .model(TinyModel.get())
                .maxOutputTokens(64)
                .buildStreaming()) {
            Recorder r = new Recorder();
            chat.chat(QUESTION, r);
            assertTrue(r.done.isDone(), "on the calling thread by default: complete when chat returns");
            ChatResponse response = r.done.join();
            assertTrue(r.partials.size() > 5, "streamed in pieces: " + r.partials);
            assertEquals(String.join("", r.partials), response.aiMessage().text());
            assertEquals(g.text(), response.aiMessage().text());
            assertEquals(g.promptTokens(), response.tokenUsage().inputTokenCount());
            assertEquals(g.completionTokens(), response.tokenUsage().outputTokenCount());
            assertTrue(response.tokenUsage().outputTokenCount() > 0);
            assertNull(r.error.get());
        }
    }

    @Test
    void withAnExecutorChatReturnsAtOnceAndTokensArriveOnItsThread() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (RectifyStreamingChatModel chat = RectifyChat.newBuilder()
                .model(TinyModel.get())
                .maxOutputTokens(32)
                .executor(pool)
                .buildStreaming()) {
            Recorder r = new Recorder();
            Thread caller = Thread.currentThread();
            chat.chat(QUESTION, r);
            ChatResponse response = r.done.get(2, TimeUnit.MINUTES);
            assertEquals(String.join("", r.partials), response.aiMessage().text());
            assertFalse(r.threads.contains(caller));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void cancellingFromAPartialResponseStopsTheStream() {
        try (RectifyStreamingChatModel chat = RectifyChat.newBuilder()
                .model(TinyModel.get())
                .maxOutputTokens(64)
                .buildStreaming()) {
            List<String> partials = new CopyOnWriteArrayList<>();
            AtomicReference<Object> end = new AtomicReference<>();
            chat.chat(
                    ChatRequest.builder().messages(UserMessage.from(QUESTION)).build(),
                    new StreamingChatResponseHandler() {
                        @Override
                        public void onPartialResponse(PartialResponse partial, PartialResponseContext context) {
                            partials.add(partial.text());
                            if (partials.size() == 2) {
                                context.streamingHandle().cancel();
                            }
                        }

                        @Override
                        public void onCompleteResponse(ChatResponse response) {
                            end.set(response);
                        }

                        @Override
                        public void onError(Throwable error) {
                            end.set(error);
                        }
                    });
            assertEquals(2, partials.size(), "no piece after the cancel: " + partials);
            assertNull(end.get(), "neither complete nor error after a cancel");
        }
    }

    @Test
    void anUnsupportedParameterGoesToOnError() {
        try (RectifyStreamingChatModel chat =
                RectifyChat.newBuilder().model(TinyModel.get()).buildStreaming()) {
            Recorder r = new Recorder();
            chat.chat(
                    ChatRequest.builder()
                            .messages(UserMessage.from(QUESTION))
                            .responseFormat(ResponseFormat.JSON)
                            .build(),
                    r);
            assertEquals(
                    "responseFormat",
                    assertInstanceOf(UnsupportedParameterException.class, r.error.get())
                            .parameter());
            assertTrue(r.partials.isEmpty());
        }
    }
}
