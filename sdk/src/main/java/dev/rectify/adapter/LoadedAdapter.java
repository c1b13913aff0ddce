package dev.rectify.adapter;

import dev.rectify.ort.LoraAdapter;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An adapter loaded for serving: its native ORT adapter and metadata (no Java copy of the weights). Reference
 * counted: the cache holds one reference and each {@link AdapterCache.Lease} one more; the native memory is freed
 * when the last is released, so eviction never closes an adapter a request is using.
 */
public final class LoadedAdapter {
    private final String id;
    private final String baseModelHash;
    private final int rank;
    private final double alpha;
    private final Set<String> targetModules;
    private final LoraAdapter nativeAdapter;
    private final AtomicInteger refs = new AtomicInteger(1);
    private final Runnable onClose;

    LoadedAdapter(
            String id,
            String baseModelHash,
            int rank,
            double alpha,
            Set<String> targetModules,
            LoraAdapter nativeAdapter,
            Runnable onClose) {
        this.id = id;
        this.baseModelHash = baseModelHash;
        this.rank = rank;
        this.alpha = alpha;
        this.targetModules = Set.copyOf(targetModules);
        this.nativeAdapter = nativeAdapter;
        this.onClose = onClose;
    }

    public String id() {
        return id;
    }

    public String baseModelHash() {
        return baseModelHash;
    }

    public int rank() {
        return rank;
    }

    public double alpha() {
        return alpha;
    }

    public Set<String> targetModules() {
        return targetModules;
    }

    /** Bytes of native memory the adapter holds (its {@code .onnx_adapter} size). */
    public long byteSize() {
        return nativeAdapter.byteSize();
    }

    /** Whether the native adapter has been freed. */
    public boolean isClosed() {
        return refs.get() == 0;
    }

    LoraAdapter nativeAdapter() {
        return nativeAdapter;
    }

    /** Takes a reference unless the adapter is already freed. */
    boolean tryRetain() {
        for (; ; ) {
            int r = refs.get();
            if (r == 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /** Drops a reference, freeing the native adapter with the last one. */
    void release() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            nativeAdapter.close();
            onClose.run();
        } else if (r < 0) {
            throw new IllegalStateException("adapter " + id + " released more often than retained");
        }
    }

    @Override
    public String toString() {
        return "LoadedAdapter[" + id.substring(0, Math.min(12, id.length())) + ", r=" + rank + ", " + byteSize()
                + " bytes]";
    }
}
