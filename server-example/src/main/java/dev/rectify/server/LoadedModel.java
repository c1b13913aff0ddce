package dev.rectify.server;

import dev.rectify.core.RefCount;
import dev.rectify.server.db.AdapterRecord;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loaded model with a reference count (its owner holds one reference; each {@link ModelLease} one more): a merged
 * full fine-tune, or the multi-LoRA model (record null). The model closes with the last reference, so eviction or
 * shutdown never closes one a request is using.
 */
final class LoadedModel {
    private static final Logger LOG = LoggerFactory.getLogger(LoadedModel.class);

    final AdapterRecord record;
    final AutoCloseable model;
    private final RefCount refs;
    private final AtomicBoolean retired = new AtomicBoolean();

    LoadedModel(AdapterRecord record, AutoCloseable model) {
        this.record = record;
        this.model = model;
        this.refs = new RefCount(String.valueOf(model), () -> {
            try {
                model.close();
            } catch (Exception e) {
                LOG.warn("cannot close {}: {}", model, e.toString());
            }
        });
    }

    /** Takes a reference unless the model is closed already. */
    boolean tryAcquire() {
        return refs.tryRetain();
    }

    void release() {
        refs.release();
    }

    /** Drops the owner's reference (once): the model closes when no request holds it. */
    void retire() {
        if (retired.compareAndSet(false, true)) {
            release();
        }
    }
}
