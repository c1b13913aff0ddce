package dev.rectify.model;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.ModelFormatException;
import dev.rectify.data.ExampleEncoder;
import dev.rectify.generate.CausalLmSignature;
import dev.rectify.generate.ChatTemplate;
import dev.rectify.generate.EndOfTurn;
import dev.rectify.generate.GenAiConfig;
import dev.rectify.generate.Generator;
import dev.rectify.generate.ModelConfig;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenScorer;
import dev.rectify.generate.Tokenizer;
import dev.rectify.generate.TokenizerConfig;
import dev.rectify.onnx.ModelHash;
import dev.rectify.ort.Device;
import dev.rectify.ort.InferenceSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
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
 * {@code config.json}, {@code generation_config.json}. A folder with an ONNX Runtime GenAI configuration
 * ({@code genai_config.json}, or its {@code model} block in {@code config.json}) may instead name its one graph
 * (e.g. {@code past.onnx}), whose KV cache is always an input. The graph runs in its own precision. Thread-safe;
 * close it to free native memory.
 */
public final class BaseModel extends TextGeneration implements AutoCloseable {
    /** Model file names Rectify looks for, in order, for the export with a KV cache. */
    public static final List<String> KV_CACHE_FILES = List.of("model_with_past.onnx", "decoder_with_past_model.onnx");

    /** The no-past graph of Optimum's split export (with {@code decoder_with_past_model.onnx}). */
    private static final String OPTIMUM_DECODER = "decoder_model.onnx";

    private static final Logger LOG = LoggerFactory.getLogger(BaseModel.class);

    private final Path dir;
    private final Path modelFile;
    private final Device device;
    private final Tokenizer tokenizer;
    private final TokenizerConfig tokenizerConfig;
    private final ModelConfig config;
    private final ChatTemplate chatTemplate;
    private final InferenceSession decodeSession;
    private final CausalLmSignature decodeSignature;
    private final Generator generator;
    private final Set<Long> eosIds;
    private final long padId;
    private final long addedBosId;
    private final int contextLength;
    private volatile InferenceSession fullSession;
    private volatile Generator recomputeGenerator;

    private BaseModel(Path dir, Device device) {
        this.dir = dir;
        this.device = device;
        if (!Files.isDirectory(dir)) {
            throw ModelFormatException.at(dir, "model folder not found");
        }
        ModelConfig cfg = ModelConfig.read(dir);
        GenAiConfig genai = cfg.genaiConfig().orElse(null);
        Path model;
        Path kvFile;
        if (genai != null && genai.decoderFile() != null) {
            model = dir.resolve(genai.decoderFile()).normalize();
            if (!model.startsWith(dir.normalize()) || !Files.isRegularFile(model)) {
                throw ModelFormatException.at(
                        genai.source(),
                        "names the decoder graph '" + genai.decoderFile() + "', which is not a file in " + dir);
            }
            kvFile = model;
        } else {
            model = dir.resolve("model.onnx");
            if (!Files.isRegularFile(model) && Files.isRegularFile(dir.resolve(OPTIMUM_DECODER))) {
                model = dir.resolve(OPTIMUM_DECODER); // Optimum's split layout, beside decoder_with_past_model.onnx
            }
            if (!Files.isRegularFile(model)) {
                throw ModelFormatException.at(
                        dir,
                        "no model.onnx in the model folder (expected model.onnx, tokenizer.json, "
                                + "and optionally model_with_past.onnx, tokenizer_config.json, config.json; or a genai_config.json "
                                + "naming the graph)"
                                + (Files.isRegularFile(dir.resolve("decoder_model_merged.onnx"))
                                        ? "; Optimum's merged decoder "
                                                + "(decoder_model_merged.onnx, with use_cache_branch) is not supported for inference: re-export with "
                                                + "--no-post-process (separate decoder_model.onnx and decoder_with_past_model.onnx)"
                                        : ""));
            }
            kvFile = KV_CACHE_FILES.stream()
                    .map(dir::resolve)
                    .filter(Files::isRegularFile)
                    .findFirst()
                    .orElse(model);
        }
        this.modelFile = model;
        this.config = cfg;
        this.tokenizer = Tokenizer.open(dir.resolve("tokenizer.json"));
        InferenceSession decode = null;
        try {
            this.tokenizerConfig = TokenizerConfig.read(dir);
            this.chatTemplate = tokenizerConfig.chatTemplate() == null
                    ? null
                    : new ChatTemplate(tokenizerConfig.chatTemplate(), tokenizerConfig);
            this.eosIds = eosIds(config, tokenizerConfig, tokenizer, chatTemplate);
            this.padId = padId(config, tokenizerConfig, tokenizer, eosIds);
            this.contextLength = config.maxPositionEmbeddings() > 0
                    ? config.maxPositionEmbeddings()
                    : (int) Math.min(Integer.MAX_VALUE, tokenizerConfig.modelMaxLength());
            this.addedBosId = addedBosId(config, tokenizerConfig, tokenizer, dir);
            decode = InferenceSession.open(kvFile, device.sessionConfig());
            CausalLmSignature sig = CausalLmSignature.of(decode, config);
            if (!sig.hasKvCache()) {
                LOG.warn(
                        "{} has no KV-cache export: generation recomputes the whole sequence at every token (slower). "
                                + "Export with past_key_values (Optimum's text-generation-with-past) to fix.",
                        dir);
            }
            if (kvFile.equals(model)) {
                fullSession = decode; // one graph: recomputation feeds it an empty KV cache
            }
            this.decodeSession = decode;
            this.decodeSignature = sig;
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
            EndOfTurn.of(template, tok)
                    .map(tok::specialTokenId)
                    .filter(id -> id >= 0)
                    .ifPresent(ids::add);
        }
        return Collections.unmodifiableSet(ids); // keeps order: the first id is the default pad
    }

    // tokenizer_config.json's add_bos_token: the bos token's id in the tokenizer, else the config's bos_token_id
    private static long addedBosId(ModelConfig c, TokenizerConfig t, Tokenizer tok, Path dir) {
        if (!t.addBosToken()) {
            return -1;
        }
        long id = t.bosToken() == null ? -1 : tok.specialTokenId(t.bosToken());
        id = id >= 0 ? id : c.bosTokenId();
        if (id < 0) {
            throw ModelFormatException.at(
                    dir.resolve("tokenizer_config.json"),
                    "add_bos_token is true but no bos token "
                            + "is defined (set bos_token to a special token of tokenizer.json, or bos_token_id in config.json)");
        }
        return id;
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
            throw new ModelFormatException(
                    dir + ": tokenizer_config.json has no chat_template, so chat is unavailable; "
                            + "use generate() with a raw prompt");
        }
        return chatTemplate.render(messages, addGenerationPrompt);
    }

    @Override
    protected BaseModel base() {
        return this;
    }

    @Override
    protected Generator generatorForText() {
        return generator;
    }

    @Override
    protected TokenScorer scorer() {
        return new TokenScorer(decodeSession, decodeSignature, padId, config.vocabSize());
    }

    /**
     * Token ids of a prompt as the model's tokenizer gives them to it: with the bos token first when
     * {@code tokenizer_config.json} sets {@code add_bos_token} and the text does not already begin with it (as a
     * rendered chat template does).
     */
    public long[] encodePrompt(String text) {
        long[] ids = tokenizer.encode(text);
        if (addedBosId < 0 || (ids.length > 0 && ids[0] == addedBosId)) {
            return ids;
        }
        long[] out = new long[ids.length + 1];
        out[0] = addedBosId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /** The sampling {@code generation_config.json} asks for (greedy, 128 tokens when the folder has none). */
    public Sampling defaultSampling() {
        return config.generation().sampling();
    }

    /**
     * The example encoder for this model: its chat template when it has one, its end-of-sequence token (the
     * tokenizer's, unless that lies outside the model's vocabulary, as in tiny test checkpoints that ship a full
     * tokenizer; then the configuration's), sequences cut to {@code maxSeqLength} (or the context length when that is
     * shorter), token ids checked against the vocabulary.
     */
    public ExampleEncoder exampleEncoder(int maxSeqLength) {
        int vocab = config.vocabSize();
        long eos = -1;
        if (tokenizerConfig().eosToken() != null) {
            eos = tokenizer().specialTokenId(tokenizerConfig().eosToken());
        }
        if (eos < 0 || (vocab > 0 && eos >= vocab)) {
            eos = eosTokenIds().stream()
                    .filter(id -> vocab <= 0 || id < vocab)
                    .findFirst()
                    .orElseThrow(() -> new ModelFormatException(directory() + ": no end-of-sequence token "
                            + (vocab > 0 ? "inside the model's vocabulary of " + vocab + " tokens " : "")
                            + "in config.json, generation_config.json or tokenizer_config.json"));
        }
        int max = contextLength() > 0 ? Math.min(maxSeqLength, contextLength()) : maxSeqLength;
        return new ExampleEncoder(tokenizer(), chatTemplate().orElse(null), eos, max, vocab);
    }

    /** The generator this model uses (KV cache when the folder has a KV export). */
    public Generator generator() {
        return generator;
    }

    /**
     * A generator over {@code session}, a graph with this model's inputs, outputs and tokenizer (a merged or
     * multi-LoRA serving graph), using this model's end-of-sequence ids, padding, context length and vocabulary.
     */
    public Generator generatorOn(InferenceSession session) {
        return new Generator(
                session,
                CausalLmSignature.of(session, config),
                tokenizer,
                eosIds,
                padId,
                contextLength,
                config.vocabSize());
    }

    /**
     * A generator that recomputes the whole sequence at each token, over {@code model.onnx} or the folder's one
     * graph (fed an empty KV cache): the reference for checks.
     */
    public Generator recomputeGenerator() {
        Generator g = recomputeGenerator;
        if (g == null) {
            synchronized (this) {
                if (recomputeGenerator == null) {
                    InferenceSession s = fullSession();
                    recomputeGenerator = Generator.recomputing(
                            s,
                            CausalLmSignature.of(s, config),
                            tokenizer,
                            eosIds,
                            padId,
                            contextLength,
                            config.vocabSize());
                }
                g = recomputeGenerator;
            }
        }
        return g;
    }

    /**
     * The session over {@code model.onnx} (no KV cache), opened on first use; the decode session itself when the
     * folder has one graph.
     */
    public InferenceSession fullSession() {
        InferenceSession s = fullSession;
        if (s == null) {
            synchronized (this) {
                if (fullSession == null) {
                    fullSession = InferenceSession.open(modelFile, device.sessionConfig());
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

    /** sha-256 of {@link #modelFile()} and its external data: the identity adapters are tied to. */
    public String contentHash() {
        return ModelHash.of(modelFile);
    }

    /** The model's graph file: {@code model.onnx}, or the decoder graph a GenAI configuration names. */
    public Path modelFile() {
        return modelFile;
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
