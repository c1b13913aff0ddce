package dev.rectify.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.rectify.model.TextModel;
import java.util.List;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LangChain4j's {@link StreamingChatModel} over a Rectify model: each piece of text is passed to
 * {@code onPartialResponse} as it is decoded (never half a character, never part of a stop sequence), then
 * {@code onCompleteResponse} gets the whole message, its token usage and finish reason; every failure, an
 * {@link UnsupportedParameterException} included, goes to {@code onError}. Generation runs on the builder's executor
 * (the calling thread by default). {@link StreamingHandle#cancel()} from a partial response's context stops decoding
 * at the next token, after which the handler hears nothing more. Thread-safe; close it as {@link RectifyChatModel}.
 */
public final class RectifyStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RectifyStreamingChatModel.class);
    private final ChatEngine engine;
    private final Executor executor;

    RectifyStreamingChatModel(ChatEngine engine, Executor executor) {
        this.engine = engine;
        this.executor = executor;
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        executor.execute(() -> stream(request, handler));
    }

    private void stream(ChatRequest request, StreamingChatResponseHandler handler) {
        Handle handle = new Handle();
        PartialResponseContext context = new PartialResponseContext(handle);
        ChatResponse response;
        try {
            ChatEngine.Prepared prepared = engine.prepare(request);
            response = engine.generate(prepared, text -> {
                if (handle.isCancelled()) {
                    throw new Cancelled();
                }
                try {
                    handler.onPartialResponse(new PartialResponse(text), context);
                } catch (RuntimeException e) {
                    LOG.warn("onPartialResponse failed (generation goes on): {}", e.toString());
                }
            });
        } catch (Cancelled e) {
            return;
        } catch (RuntimeException e) {
            if (!handle.isCancelled()) {
                handler.onError(e);
            }
            return;
        }
        if (!handle.isCancelled()) {
            handler.onCompleteResponse(response);
        }
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return engine.defaultParameters();
    }

    @Override
    public List<ChatModelListener> listeners() {
        return engine.listeners();
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    /** The Rectify model this chat model generates with. */
    public TextModel model() {
        return engine.model();
    }

    @Override
    public void close() {
        engine.close();
    }

    /** Cancels one streamed reply. */
    private static final class Handle implements StreamingHandle {
        private volatile boolean cancelled;

        @Override
        public void cancel() {
            cancelled = true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
    }

    /** Unwinds the decoder after a cancel; never leaves this class. */
    private static final class Cancelled extends RuntimeException {
        Cancelled() {
            super(null, null, false, false);
        }
    }
}
