package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.rectify.core.RectifyException;
import dev.rectify.generate.Generation;
import dev.rectify.server.CompletionChunk.Delta;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.sse.Event;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.ObjectMapper;
import jakarta.validation.Valid;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/** {@code POST /v1/chat/completions} and {@code POST /v1/completions}, with SSE streaming. */
@Controller("/v1")
@ExecuteOn(TaskExecutors.BLOCKING)
public class CompletionsController {
    private static final Logger LOG = LoggerFactory.getLogger(CompletionsController.class);

    private final AdapterRegistry models;
    private final Inference inference;
    private final Settings settings;
    private final PromptLimit promptLimit;
    private final CheckpointModels checkpoints;
    private final ObjectMapper mapper;

    public CompletionsController(
            AdapterRegistry models,
            Inference inference,
            Settings settings,
            PromptLimit promptLimit,
            CheckpointModels checkpoints,
            ObjectMapper mapper) {
        this.models = models;
        this.mapper = mapper;
        this.checkpoints = checkpoints;
        this.inference = inference;
        this.settings = settings;
        this.promptLimit = promptLimit;
    }

    @Post(
            uri = "/chat/completions",
            produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    @Consumes(MediaType.APPLICATION_JSON)
    public Mono<HttpResponse<?>> chat(@Valid @Body @Nullable ChatCompletionBody body) {
        return complete(CompletionRequest.chat(Json.present(body), settings));
    }

    @Post(
            uri = "/completions",
            produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    @Consumes(MediaType.APPLICATION_JSON)
    public Mono<HttpResponse<?>> completions(@Valid @Body @Nullable TextCompletionBody body) {
        return complete(CompletionRequest.text(Json.present(body), settings));
    }

    /**
     * Renders and tokenizes the prompt on the generation pool (a prompt that cannot fit the context is refused before
     * that), then answers: the whole completion, or an SSE stream once the prompt is accepted.
     */
    private Mono<HttpResponse<?>> complete(CompletionRequest req) {
        String param = req.isChat() ? "messages" : "prompt";
        if (!req.isChat()) {
            promptLimit.checkBeforeTokenizing(req.prompt(), param);
        }
        checkpoints.prepare(req.model());
        ModelLease lease = models.acquire(req.model());
        Function<ModelLease, String> prepare = l -> {
            String prompt = req.isChat() ? l.render(req.messages()) : req.prompt();
            if (req.isChat()) {
                promptLimit.checkBeforeTokenizing(prompt, param);
            }
            promptLimit.checkTokens(l.countTokens(prompt), param);
            return prompt;
        };
        CompletableFuture<String> prepared = new CompletableFuture<>();
        String id = (req.isChat() ? "chatcmpl-" : "cmpl-") + Ids.newId("x").substring(2);
        long created = System.currentTimeMillis() / 1000;
        if (!req.stream()) {
            CompletableFuture<Generation> f = inference.submit(lease, prepare, prepared, req.sampling(), (i, t) -> {});
            return Mono.fromFuture(f.thenApply(g -> (HttpResponse<?>)
                            HttpResponse.ok(response(req, id, created, g)).contentType(MediaType.APPLICATION_JSON_TYPE))
                    .exceptionally(t -> {
                        throw unwrap(t);
                    }));
        }
        Sinks.Many<Event<String>> sink = Sinks.many().unicast().onBackpressureBuffer();
        AtomicBoolean cancelled = new AtomicBoolean();
        String object = req.isChat() ? "chat.completion.chunk" : "text_completion";
        if (req.isChat()) {
            sink.tryEmitNext(frame(chunk(req, id, created, object, new Delta("assistant", ""), null, null)));
        }
        inference
                .submit(lease, prepare, prepared, req.sampling(), (i, text) -> {
                    if (cancelled.get()) {
                        throw new StreamCancelled();
                    }
                    sink.tryEmitNext(frame(chunk(req, id, created, object, new Delta(null, text), text, null)));
                })
                .whenComplete((g, t) -> {
                    if (t != null) {
                        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
                        if (!(c instanceof StreamCancelled)
                                && prepared.isDone()
                                && !prepared.isCompletedExceptionally()) {
                            LOG.warn("streamed generation failed: {}", c.toString());
                            sink.tryEmitNext(Event.of(Json.write(
                                    Json.error(String.valueOf(c.getMessage()), "server_error", null, null))));
                            sink.tryEmitNext(Event.of("[DONE]"));
                        }
                        sink.tryEmitComplete();
                        return;
                    }
                    String finish = g.finishReason().openAiName();
                    sink.tryEmitNext(frame(chunk(req, id, created, object, new Delta(null, null), "", finish)));
                    if (req.includeUsage()) {
                        JsonNode usage = Json.MAPPER.valueToTree(Usage.of(g));
                        sink.tryEmitNext(
                                frame(new CompletionChunk(id, object, created, req.model(), null, List.of(), usage)));
                    }
                    sink.tryEmitNext(Event.of("[DONE]"));
                    sink.tryEmitComplete();
                });
        Publisher<Event<String>> out = sink.asFlux().doOnCancel(() -> cancelled.set(true));
        return Mono.fromFuture(prepared.<HttpResponse<?>>thenApply(p -> HttpResponse.status(HttpStatus.OK)
                        .contentType(MediaType.TEXT_EVENT_STREAM_TYPE)
                        .body(out))
                .exceptionally(t -> {
                    cancelled.set(true);
                    throw unwrap(t);
                }));
    }

    private static RuntimeException unwrap(Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        if (c instanceof RuntimeException re) {
            return re;
        }
        return new RectifyException("generation failed: " + c, c);
    }

    private Event<String> frame(Object value) {
        try {
            return Event.of(mapper.writeValueAsString(value));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A chunk with one choice: the chat {@code delta} or the completion {@code text}, whichever the request is. */
    private static CompletionChunk chunk(
            CompletionRequest req, String id, long created, String object, Delta delta, String text, String finish) {
        CompletionChunk.Choice c =
                new CompletionChunk.Choice(0, req.isChat() ? delta : null, req.isChat() ? null : text, null, finish);
        return new CompletionChunk(
                id, object, created, req.model(), null, List.of(c), req.includeUsage() ? NullNode.getInstance() : null);
    }

    private Object response(CompletionRequest req, String id, long created, Generation g) {
        String finish = g.finishReason().openAiName();
        if (req.isChat()) {
            JsonNode logprobs = g.logprobs() == null
                    ? null
                    : Logprobs.chat(g.logprobs(), models.base().tokenizer());
            ChatCompletion.Message m = new ChatCompletion.Message("assistant", g.text(), null);
            return new ChatCompletion(
                    id,
                    "chat.completion",
                    created,
                    req.model(),
                    null,
                    List.of(new ChatCompletion.Choice(0, m, logprobs, finish)),
                    Usage.of(g));
        }
        JsonNode logprobs = g.logprobs() == null
                ? null
                : Logprobs.completion(g.logprobs(), models.base().tokenizer());
        return new TextCompletion(
                id,
                "text_completion",
                created,
                req.model(),
                null,
                List.of(new TextCompletion.Choice(0, g.text(), logprobs, finish)),
                Usage.of(g));
    }

    /** Thrown from the token listener to stop a generation whose client went away. */
    static final class StreamCancelled extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StreamCancelled() {
            super("client disconnected", null, false, false);
        }
    }
}
