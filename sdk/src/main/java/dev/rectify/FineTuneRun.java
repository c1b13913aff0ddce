package dev.rectify;

import dev.rectify.data.ExampleEncoder;
import dev.rectify.job.FineTuneRequest;
import dev.rectify.job.FineTuneService;
import dev.rectify.job.TrainingSetup;
import dev.rectify.store.AdapterStore;
import java.util.List;

/** One fine-tuning request of {@link Adapter#fineTune}: run through the job service on the calling thread. */
final class FineTuneRun {
    private final BaseModel base;
    private final List<Example> examples;
    private final FineTuneOptions options;
    private final AdapterStore store;

    FineTuneRun(BaseModel base, List<Example> examples, FineTuneOptions options) {
        this(base, examples, options, AdapterStore.defaultStore());
    }

    /** {@code store} may be null: then nothing is looked up or stored. */
    FineTuneRun(BaseModel base, List<Example> examples, FineTuneOptions options, AdapterStore store) {
        this.base = base;
        this.examples = examples;
        this.options = options;
        this.store = store;
    }

    Adapter run() {
        return FineTuneService.builder().adapterStore(store).build().run(FineTuneRequest.of(base, examples, options));
    }

    /** The encoder for {@code base}: chat template when the model has one, its end-of-sequence token. */
    static ExampleEncoder encoder(BaseModel base, FineTuneOptions options) {
        return TrainingSetup.encoder(base, options);
    }
}
