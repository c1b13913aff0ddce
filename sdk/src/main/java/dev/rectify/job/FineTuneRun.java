package dev.rectify.job;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.Example;
import dev.rectify.model.BaseModel;
import dev.rectify.train.FineTuneOptions;
import java.util.List;

/** One fine-tuning request of {@code Rectify.fineTune}: run through the job service on the calling thread. */
public final class FineTuneRun {
    private final BaseModel base;
    private final List<Example> examples;
    private final FineTuneOptions options;
    private final AdapterStore store;

    public FineTuneRun(BaseModel base, List<Example> examples, FineTuneOptions options) {
        this(base, examples, options, AdapterStore.defaultStore());
    }

    /** {@code store} may be null: then nothing is looked up or stored. */
    public FineTuneRun(BaseModel base, List<Example> examples, FineTuneOptions options, AdapterStore store) {
        this.base = base;
        this.examples = examples;
        this.options = options;
        this.store = store;
    }

    /** Runs the request on the calling thread. */
    public Adapter run() {
        return FineTuneService.builder().adapterStore(store).build().run(FineTuneRequest.of(base, examples, options));
    }
}
