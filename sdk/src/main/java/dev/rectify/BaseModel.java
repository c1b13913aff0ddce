package dev.rectify;

import dev.rectify.generate.CausalLmSignature;
import dev.rectify.generate.ChatTemplate;
import dev.rectify.generate.EndOfTurn;
import dev.rectify.generate.Generator;
import dev.rectify.generate.ModelConfig;
import dev.rectify.generate.TokenScorer;
import dev.rectify.generate.Tokenizer;
import dev.rectify.generate.TokenizerConfig;
import dev.rectify.ort.InferenceSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ONNX-exported causal LM opened from a folder: {@code model.onnx} (required), an optional KV-cache export
 * ({@code model_with_past.onnx} or {@code decoder_with_past_model.onnx}; or {@code model.onnx} itself when it has
 * {@code past_key_values.*} inputs), {@code tokenizer.json}, and optionally {@code tokenizer_config.json},
 * {@code config.json}, {@code generation_config.json}. Thread-safe; close it to free native memory.
 */
public final class BaseModel extends TextGeneration implements AutoCloseable {
    /** Model file names Rectify looks for, in order, for the export with a KV cache. */
    public static final List<String> KV_CACHE_FILES = List.of("model_with_past.onnx", "decoder_with_past_model.onnx");

    private static final Logger LOG = LoggerFactory.getLogger(BaseModel.class);

    private final Path dir;
    private final Device device;
    private final Tokenizer tokenizer;
    private final TokenizerConfig tokenizerConfig;
    private final ModelConfig config;
    private final ChatTemplate chatTemplate;
    private final InferenceSession decodeSession;
    private final Generator generator;
    private final Set<Long> eosIds;
    private final long padId;
    private final int contextLength;
    private volatile InferenceSession fullSession;
    private volatile Generator recomputeGenerator;

    private BaseModel(Path dir, Device device) {
        this.dir = dir;
        this.device = device;
        Path model = dir.resolve("model.onnx");
        if (!Files.isDirectory(dir)) {
            throw ModelFormatException.at(dir, "model folder not found");
        }
        if (!Files.isRegularFile(model)) {
            throw ModelFormatException.at(dir, "no model.onnx in the model folder (expected model.onnx, tokenizer.json, "
                    + "and optionally model_with_past.onnx, tokenizer_config.json, config.json)");
        }
        this.tokenizer = Tokenizer.open(dir.resolve("tokenizer.json"));
        InferenceSession decode = null;
        try {
            this.tokenizerConfig = TokenizerConfig.read(dir);
            this.config = ModelConfig.read(dir);
            this.chatTemplate = tokenizerConfig.chatTemplate() == null ? null
                    : new ChatTemplate(tokenizerConfig.chatTemplate(), tokenizerConfig);
            this.eosIds = eosIds(config, tokenizerConfig, tokenizer, chatTemplate);
            this.padId = padId(config, tokenizerConfig, tokenizer, eosIds);
            this.contextLength = config.maxPositionEmbeddings() > 0 ? config.maxPositionEmbeddings()
                    : (int) Math.min(Integer.MAX_VALUE, tokenizerConfig.modelMaxLength());
            Path kvFile = KV_CACHE_FILES.stream().map(dir::resolve).filter(Files::isRegularFile).findFirst().orElse(null);
            decode = InferenceSession.open(kvFile != null ? kvFile : model, device.sessionConfig());
            CausalLmSignature sig = CausalLmSignature.of(decode, config);
            if (!sig.hasKvCache()) {
                LOG.warn("{} has no KV-cache export: generation recomputes the whole sequence at every token (slower). "
                        + "Export with past_key_values (Optimum's text-generation-with-past) to fix.", dir);
                fullSession = decode;
            }
            this.decodeSession = decode;
            this.generator = new Generator(decode, sig, tokenizer, eosIds, padId, contextLength, config.vocabSize());
        } catch (RuntimeException e) {
            if (decode != null) {
                decode.close();
            }
            tokenizer.close();
            throw e;
        }
    }

    /** Opens a model folder on the CPU. */
    public static BaseModel open(Path dir) {
        return open(dir, Device.cpu());
    }

    /** Opens a model folder on {@code device}. */
    public static BaseModel open(Path dir, Device device) {
        return new BaseModel(Objects.requireNonNull(dir, "dir"), Objects.requireNonNull(device, "device"));
    }

    /** Opens the model bundled with Rectify ({@link BundledModel}) on the CPU. */
    public static BaseModel bundled() {
        return open(BundledModel.directory());
    }

    /** Opens the bundled model on {@code device}. */
    public static BaseModel bundled(Device device) {
        return open(BundledModel.directory(), device);
    }

    private static Set<Long> eosIds(ModelConfig c, TokenizerConfig t, Tokenizer tok, ChatTemplate template) {
        Set<Long> ids = new LinkedHashSet<>(c.eosTokenIds());
        if (t.eosToken() != null && tok.specialTokenId(t.eosToken()) >= 0) {
            ids.add(tok.specialTokenId(t.eosToken()));
        }
        if (template != null) { // the token the chat template ends assistant turns with, e.g. <|eot_id|>
            EndOfTurn.of(template, tok).map(tok::specialTokenId).filter(id -> id >= 0).ifPresent(ids::add);
        }
        return java.util.Collections.unmodifiableSet(ids); // keeps order: the first id is the default pad
    }

    private static long padId(ModelConfig c, TokenizerConfig t, Tokenizer tok, Set<Long> eos) {
        if (c.padTokenId() >= 0) {
            return c.padTokenId();
        }
        if (t.padToken() != null && tok.specialTokenId(t.padToken()) >= 0) {
            return tok.specialTokenId(t.padToken());
        }
        return eos.isEmpty() ? 0 : eos.iterator().next();
    }

    /** Renders a conversation with the model's chat template. */
    public String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
        if (chatTemplate == null) {
            throw new ModelFormatException(dir + ": tokenizer_config.json has no chat_template, so chat is unavailable; "
                    + "use generate() with a raw prompt");
        }
        return chatTemplate.render(messages, addGenerationPrompt);
    }

    @Override
    BaseModel base() {
        return this;
    }

    @Override
    Generator generatorForText() {
        return generator;
    }

    @Override
    TokenScorer scorer() {
        return new TokenScorer(decodeSession, CausalLmSignature.of(decodeSession, config), padId);
    }

    /**
     * This model with {@code adapter} applied (its weights merged into a private copy of the base graph). The
     * returned model shares this one's tokenizer; close it before this one.
     */
    public AdaptedModel with(Adapter adapter) {
        return AdaptedModel.create(this, adapter);
    }

    /** The generator this model uses (KV cache when the folder has a KV export). */
    public Generator generator() {
        return generator;
    }

    /** A generator that recomputes the whole sequence at each token, over {@code model.onnx} (for checks). */
    public Generator recomputeGenerator() {
        Generator g = recomputeGenerator;
        if (g == null) {
            synchronized (this) {
                if (recomputeGenerator == null) {
                    InferenceSession s = fullSession();
                    recomputeGenerator = new Generator(s, CausalLmSignature.of(s, config), tokenizer, eosIds, padId,
                            contextLength, config.vocabSize());
                }
                g = recomputeGenerator;
            }
        }
        return g;
    }

    /** The session over {@code model.onnx} (no KV cache), opened on first use. */
    public InferenceSession fullSession() {
        InferenceSession s = fullSession;
        if (s == null) {
            synchronized (this) {
                if (fullSession == null) {
                    fullSession = InferenceSession.open(dir.resolve("model.onnx"), device.sessionConfig());
                }
                s = fullSession;
            }
        }
        return s;
    }

    /** The session used for decoding (the KV export when there is one). */
    public InferenceSession decodeSession() {
        return decodeSession;
    }

    public Path directory() {
        return dir;
    }

    /** sha-256 of {@code model.onnx} and its external data: the identity adapters are tied to. */
    public String contentHash() {
        return dev.rectify.train.ContentHash.ofModel(dir.resolve("model.onnx"));
    }

    public Device device() {
        return device;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public ModelConfig config() {
        return config;
    }

    public TokenizerConfig tokenizerConfig() {
        return tokenizerConfig;
    }

    public Optional<ChatTemplate> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /**
     * End-of-sequence token ids (config, generation config, the tokenizer's eos token, and the chat template's
     * end-of-turn token): generation stops on any of them.
     */
    public Set<Long> eosTokenIds() {
        return eosIds;
    }

    public long padTokenId() {
        return padId;
    }

    /** The context window in tokens, or -1 when unknown. */
    public int contextLength() {
        return contextLength;
    }

    @Override
    public synchronized void close() {
        if (fullSession != null && fullSession != decodeSession) {
            fullSession.close();
        }
        decodeSession.close();
        tokenizer.close();
    }
}
