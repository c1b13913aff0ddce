package dev.rectify.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.rectify.model.TextModel;
import java.util.List;

/**
 * LangChain4j's blocking {@link ChatModel} over a Rectify model (with or without an adapter); build it with
 * {@link RectifyChat#newBuilder()}. Replies come from {@link TextModel#chat} with the model's chat template.
 * Thread-safe. Close it to free the adapted copy of the model it made (nothing when given a model to use as is).
 */
public final class RectifyChatModel implements ChatModel, AutoCloseable {
    private final ChatEngine engine;

    RectifyChatModel(ChatEngine engine) {
        this.engine = engine;
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return engine.generate(engine.prepare(request), text -> {});
    }

    /** Temperature, topP, topK, maxOutputTokens, stop sequences and the model name a request starts from. */
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
}
