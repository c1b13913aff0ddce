package dev.rectify.adapter;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.CausalLmSignature;
import dev.rectify.generate.Generator;
import dev.rectify.generate.TokenScorer;
import dev.rectify.lora.LoraMerge;
import dev.rectify.model.BaseModel;
import dev.rectify.model.TextGeneration;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.HalfTensors;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.InferenceSession;
import java.nio.file.Path;
import java.util.Map;

/**
 * A base model with an adapter applied: the adapter's weights are merged into a private copy of the base export
 * (W + (α/r)·B·A for LoRA, replacement weights for full fine-tuning), so it computes exactly what the trained
 * model computes. Generation methods are those of {@link BaseModel}.
 */
public final class AdaptedModel extends TextGeneration implements AutoCloseable {
    private final BaseModel base;
    private final Adapter adapter;
    private final InferenceSession session;
    private final Generator generator;

    private AdaptedModel(BaseModel base, Adapter adapter, InferenceSession session, Generator generator) {
        this.base = base;
        this.adapter = adapter;
        this.session = session;
        this.generator = generator;
    }

    /**
     * {@code base} with {@code adapter} applied (its weights merged into a private copy of the base graph). The
     * returned model shares the base's tokenizer; close it before the base.
     */
    public static AdaptedModel of(BaseModel base, Adapter adapter) {
        if (!adapter.baseModelHash().equals(base.contentHash())) {
            throw new InvalidArgumentException(
                    "adapter " + adapter.id().substring(0, 12) + " was trained on another base model ("
                            + adapter.baseModelHash().substring(0, 12) + "), not " + base.directory() + " ("
                            + base.contentHash().substring(0, 12) + ")");
        }
        String source = base.decodeSession().source();
        OnnxModel merged = merge(OnnxModel.read(Path.of(source)), adapter);
        InferenceSession s = InferenceSession.fromBytes(
                merged.toBytes(),
                source + "+" + adapter.id().substring(0, 12),
                base.device().sessionConfig());
        try {
            Generator g = base.generatorOn(s);
            return new AdaptedModel(base, adapter, s, g);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The base model with {@code adapter}'s weights folded in. */
    public static OnnxModel merge(OnnxModel base, Adapter adapter) {
        if (adapter.kind() == Adapter.Kind.LORA) {
            return LoraMerge.merge(base, adapter.loraConfig(), adapter.weights().values());
        }
        Graph g = base.graph();
        for (Map.Entry<String, float[]> e : adapter.weights().values().entrySet()) {
            var w = g.initializer(e.getKey())
                    .orElseThrow(() -> new InvalidArgumentException("the adapter trains '" + e.getKey()
                            + "', which the base model does not have: an adapter for another base?"));
            if (Tensors.numElements(w) != e.getValue().length) {
                throw new InvalidArgumentException("adapter tensor '" + e.getKey() + "' has " + e.getValue().length
                        + " values, the base weight has " + Tensors.numElements(w));
            }
            // float32 master weights trained over a float16/bfloat16 base are rounded once to the base's precision
            g.putInitializer(HalfTensors.tensor(e.getKey(), e.getValue(), w.getDataType(), Tensors.dims(w)));
        }
        return base.withGraph(g);
    }

    @Override
    protected BaseModel base() {
        return base;
    }

    @Override
    protected Generator generatorForText() {
        return generator;
    }

    @Override
    protected TokenScorer scorer() {
        return new TokenScorer(
                session,
                CausalLmSignature.of(session, base.config()),
                base.padTokenId(),
                base.config().vocabSize());
    }

    /**
     * Exports this model (base + adapter merged) as a standalone folder that {@link BaseModel#open} serves; see
     * {@link dev.rectify.adapter.MergedModelExport}.
     */
    public Path exportMerged(Path dir) {
        return MergedModelExport.write(base, adapter, dir);
    }

    public Adapter adapter() {
        return adapter;
    }

    /** The generator over the merged model. */
    public Generator generator() {
        return generator;
    }

    @Override
    public void close() {
        session.close();
    }
}
