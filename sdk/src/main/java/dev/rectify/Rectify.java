package dev.rectify;

import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.job.FineTuneRun;
import dev.rectify.model.BaseModel;
import dev.rectify.ort.Device;
import dev.rectify.train.FineTuneOptions;
import java.nio.file.Path;
import java.util.List;

/**
 * The entry points of the SDK: open a model, fine-tune it, apply an adapter. Everything here delegates to the layers
 * below ({@code model}, {@code adapter}, {@code job}); nothing inside the SDK imports this package.
 * <pre>{@code
 * Adapter adapter = Rectify.fineTune(examples, Objective.DFT);          // on the bundled model
 * try (BaseModel base = Rectify.bundledModel(); AdaptedModel m = Rectify.apply(base, adapter)) {
 *     m.chat(List.of(ChatMessage.user("What is 17 + 25?")), Sampling.greedy().maxNewTokens(64), System.out::print);
 * }
 * }</pre>
 */
public final class Rectify {
    private Rectify() {}

    /** Opens the model folder {@code dir} on the CPU. */
    public static BaseModel open(Path dir) {
        return BaseModel.open(dir);
    }

    /** Opens the model folder {@code dir} on {@code device}. */
    public static BaseModel open(Path dir, Device device) {
        return BaseModel.open(dir, device);
    }

    /** Opens the bundled default model (rectify-tiny) on the CPU. */
    public static BaseModel bundledModel() {
        return BaseModel.bundled();
    }

    /** Fine-tunes the bundled default model on {@code examples} with {@code objective} and default options. */
    public static Adapter fineTune(List<Example> examples, Objective objective) {
        try (BaseModel base = BaseModel.bundled()) {
            return fineTune(base, examples, FineTuneOptions.of(objective));
        }
    }

    /**
     * Fine-tunes {@code base} on {@code examples}; the result is kept in the default adapter store, and a request
     * identical to an earlier one returns the stored adapter without training (see the 4-argument form).
     */
    public static Adapter fineTune(BaseModel base, List<Example> examples, FineTuneOptions options) {
        return new FineTuneRun(base, examples, options).run();
    }

    /**
     * Fine-tunes {@code base} on {@code examples}, reusing {@code store}: an adapter already stored for the same base,
     * data, objective and options is returned without training, concurrent identical requests train once, and a new
     * adapter is stored. Requests that resume or name their own {@code runDir} always train (then are stored).
     * {@code store} may be null (no reuse, nothing stored). The 3-argument form uses
     * {@link AdapterStore#defaultStore()}.
     */
    public static Adapter fineTune(
            BaseModel base, List<Example> examples, FineTuneOptions options, AdapterStore store) {
        return new FineTuneRun(base, examples, options, store).run();
    }

    /** {@code base} with {@code adapter} applied; close it before {@code base}. */
    public static AdaptedModel apply(BaseModel base, Adapter adapter) {
        return AdaptedModel.of(base, adapter);
    }
}
