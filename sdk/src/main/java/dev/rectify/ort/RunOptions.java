package dev.rectify.ort;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.onnxruntime.OrtRunOptions;

/**
 * Per-run settings: active LoRA adapters, a tag for ORT's logs, and termination of the run in flight.
 * Adapters added here must stay open while runs use these options.
 */
public final class RunOptions implements AutoCloseable {
    private final OrtRunOptions options;
    private final List<LoraAdapter> adapters = new ArrayList<>();
    private boolean closed;

    public RunOptions() {
        OrtRuntime rt = OrtRuntime.get();
        this.options = new OrtRunOptions();
        rt.check(rt.api().CreateRunOptions(options), "creating run options");
    }

    /** Activates a LoRA adapter for runs with these options: its parameters are fed as inputs by name. */
    public RunOptions activate(LoraAdapter adapter) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(
                rt.api().RunOptionsAddActiveLoraAdapter(options, adapter.handle()),
                "activating LoRA adapter " + adapter.name());
        adapters.add(adapter);
        return this;
    }

    /** Sets a tag that appears in ORT's logs. */
    public RunOptions tag(String tag) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(rt.api().RunOptionsSetRunTag(options, tag), "setting the run tag");
        return this;
    }

    /** A raw run config entry ({@code AddRunConfigEntry}). */
    public RunOptions entry(String key, String value) {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(rt.api().AddRunConfigEntry(options, key, value), "setting run config " + key);
        return this;
    }

    /** Asks runs using these options to stop as soon as possible; they then fail with an OrtException. */
    public void terminate() {
        OrtRuntime rt = OrtRuntime.get();
        rt.check(rt.api().RunOptionsSetTerminate(options), "terminating a run");
    }

    /** The adapters activated so far. */
    public List<LoraAdapter> adapters() {
        return List.copyOf(adapters);
    }

    OrtRunOptions handle() {
        if (closed) {
            throw new IllegalStateException("run options are closed");
        }
        return options;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            OrtRuntime.get().api().ReleaseRunOptions(options);
        }
    }
}
