package dev.rectify.server;

import dev.rectify.core.ChatMessage;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.server.db.AdapterRecord;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/** One request's hold on a served model (the base or an adapter), from {@link AdapterRegistry#acquire}. */
public final class ModelLease implements AutoCloseable {
    /** Generation over the base or an adapted model. */
    @FunctionalInterface
    interface Gen {
        Generation generate(String prompt, Sampling sampling, TokenListener listener);
    }

    private final AdapterRegistry registry;
    private final String name;
    private final AdapterRecord record;
    private final Gen gen;
    private final Runnable release;
    private final AtomicBoolean closed = new AtomicBoolean();

    ModelLease(AdapterRegistry registry, String name, AdapterRecord record, Gen gen, Runnable release) {
        this.registry = registry;
        this.name = name;
        this.record = record;
        this.gen = gen;
        this.release = release;
    }

    public String name() {
        return name;
    }

    /** The adapter's record, or null for the base model. */
    public AdapterRecord record() {
        if (record == null && !name.equals(registry.baseName())) {
            return registry.find(name).orElse(null);
        }
        return record;
    }

    public String render(List<ChatMessage> messages) {
        return registry.base().applyChatTemplate(messages, true);
    }

    public int countTokens(String text) {
        return registry.base().encodePrompt(text).length;
    }

    public Generation generate(String prompt, Sampling sampling, TokenListener listener) {
        return gen.generate(prompt, sampling, listener);
    }

    /** Releases the hold (once; later calls do nothing). */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            release.run();
        }
    }
}
