package dev.rectify.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.rectify.Rectify;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import dev.rectify.model.TextModel;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Builds LangChain4j chat models over a Rectify model, in the style of Caffeine's builder: {@link #newBuilder()},
 * each option set at most once and checked when set, then {@link #build()} (a {@link RectifyChatModel}) or
 * {@link #buildStreaming()} (a {@link RectifyStreamingChatModel}).
 * <pre>{@code
 * try (RectifyChatModel chat = RectifyChat.newBuilder().model(base).adapter(adapter).maxOutputTokens(64).build()) {
 *     String reply = chat.chat("What is 17 + 25?");
 * }
 * }</pre>
 * Options left unset take the model's {@code generation_config.json} values (greedy and 128 tokens without one), as
 * {@code rectify generate} does; a request's own parameters override both.
 */
public final class RectifyChat {
    private TextModel textModel;
    private BaseModel base;
    private Adapter adapter;
    private String modelName;
    private Double temperature;
    private Double topP;
    private Integer topK;
    private Integer maxOutputTokens;
    private List<String> stopSequences;
    private Long seed;
    private Executor executor;
    private List<ChatModelListener> listeners;

    private RectifyChat() {}

    /** A builder with every option unset. */
    public static RectifyChat newBuilder() {
        return new RectifyChat();
    }

    /**
     * The base model to chat with; with {@link #adapter} the built model applies the adapter to it
     * ({@link Rectify#apply}) and closes that copy when closed. The caller keeps {@code base} open and closes it last.
     */
    public RectifyChat model(BaseModel base) {
        requireState(this.base == null && textModel == null, "the model was already set");
        this.base = Objects.requireNonNull(base, "base");
        return this;
    }

    /**
     * A model to chat with as it is: a {@link BaseModel} or an {@link AdaptedModel} the caller already made (share
     * one between a chat model and a streaming one this way). The caller closes it.
     */
    public RectifyChat model(TextModel model) {
        requireState(this.base == null && textModel == null, "the model was already set");
        this.textModel = Objects.requireNonNull(model, "model");
        return this;
    }

    /** The adapter to apply to the {@link #model(BaseModel) base model}. */
    public RectifyChat adapter(Adapter adapter) {
        requireState(
                this.adapter == null,
                "the adapter was already set to " + (this.adapter == null ? "" : this.adapter.id()));
        this.adapter = Objects.requireNonNull(adapter, "adapter");
        return this;
    }

    /** The name reported in responses and accepted in requests (default: the model folder's name, plus the adapter id). */
    public RectifyChat modelName(String name) {
        requireState(modelName == null, "the model name was already set to " + modelName);
        requireArgument(name != null && !name.isBlank(), "the model name must not be blank");
        this.modelName = name;
        return this;
    }

    /** Default sampling temperature, 0 (greedy) to {@value Sampling#MAX_TEMPERATURE}. */
    public RectifyChat temperature(double t) {
        requireState(temperature == null, "the temperature was already set to " + temperature);
        requireArgument(
                t >= 0 && t <= Sampling.MAX_TEMPERATURE,
                "temperature must be in [0, " + Sampling.MAX_TEMPERATURE + "], got " + t);
        this.temperature = t;
        return this;
    }

    /** Default nucleus mass, in (0, 1]; 1 is off. */
    public RectifyChat topP(double p) {
        requireState(topP == null, "topP was already set to " + topP);
        requireArgument(p > 0 && p <= 1, "topP must be in (0, 1], got " + p);
        this.topP = p;
        return this;
    }

    /** Default top-k, 0 (off) or more. */
    public RectifyChat topK(int k) {
        requireState(topK == null, "topK was already set to " + topK);
        requireArgument(k >= 0, "topK must be >= 0 (0 = off), got " + k);
        this.topK = k;
        return this;
    }

    /** Default most new tokens per reply. */
    public RectifyChat maxOutputTokens(int n) {
        requireState(maxOutputTokens == null, "maxOutputTokens was already set to " + maxOutputTokens);
        requireArgument(
                n >= 1 && n <= Sampling.MAX_NEW_TOKENS_LIMIT,
                "maxOutputTokens must be in [1, " + Sampling.MAX_NEW_TOKENS_LIMIT + "], got " + n);
        this.maxOutputTokens = n;
        return this;
    }

    /** Default stop strings: the reply ends before the first one (it is not included). */
    public RectifyChat stopSequences(List<String> stop) {
        requireState(stopSequences == null, "the stop sequences were already set to " + stopSequences);
        for (String s : Objects.requireNonNull(stop, "stop")) {
            requireArgument(s != null && !s.isEmpty(), "stop sequences must be non-empty strings");
        }
        this.stopSequences = List.copyOf(stop);
        return this;
    }

    /** The sampler's seed (default 0): the same seed, request and model give the same reply. */
    public RectifyChat seed(long s) {
        requireState(seed == null, "the seed was already set to " + seed);
        this.seed = s;
        return this;
    }

    /**
     * Where {@link RectifyStreamingChatModel} generates (default: the calling thread, which returns when the reply
     * is complete). Give an executor to return at once and receive the tokens on its thread.
     */
    public RectifyChat executor(Executor executor) {
        requireState(this.executor == null, "the executor was already set");
        this.executor = Objects.requireNonNull(executor, "executor");
        return this;
    }

    /** LangChain4j listeners told of every request, response and error. */
    public RectifyChat listeners(List<ChatModelListener> listeners) {
        requireState(this.listeners == null, "the listeners were already set");
        this.listeners = List.copyOf(listeners);
        return this;
    }

    /** A blocking {@code ChatModel}. */
    public RectifyChatModel build() {
        return new RectifyChatModel(engine());
    }

    /** A {@code StreamingChatModel} that delivers each piece of text as it is decoded. */
    public RectifyStreamingChatModel buildStreaming() {
        return new RectifyStreamingChatModel(engine(), executor != null ? executor : Runnable::run);
    }

    private ChatEngine engine() {
        requireState(base != null || textModel != null, "no model: call model(BaseModel) or model(TextModel) first");
        requireState(
                adapter == null || base != null,
                "adapter(...) applies to model(BaseModel); for a model you adapted yourself pass it to model(TextModel)");
        AdaptedModel owned = adapter == null ? null : Rectify.apply(base, adapter);
        TextModel m = owned != null ? owned : base != null ? base : textModel;
        String name = modelName != null ? modelName : defaultName(m);
        Sampling d = m.baseModel().defaultSampling();
        ChatEngine.Defaults defaults = new ChatEngine.Defaults(
                name,
                temperature != null ? temperature : d.temperature(),
                topP != null ? topP : d.topP(),
                topK != null ? topK : d.topK(),
                maxOutputTokens != null ? maxOutputTokens : d.maxNewTokens(),
                stopSequences != null ? stopSequences : d.stop(),
                seed != null ? seed : d.seed());
        return new ChatEngine(m, owned, defaults, listeners != null ? listeners : List.of());
    }

    private static String defaultName(TextModel m) {
        String folder = String.valueOf(m.baseModel().directory().getFileName());
        return m instanceof AdaptedModel a ? folder + ":" + a.adapter().id().substring(0, 12) : folder;
    }

    private static void requireState(boolean ok, String message) {
        if (!ok) {
            throw new IllegalStateException(message);
        }
    }

    private static void requireArgument(boolean ok, String message) {
        if (!ok) {
            throw new InvalidArgumentException(message);
        }
    }
}
