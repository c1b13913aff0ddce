package dev.rectify.adapter;

import dev.rectify.core.RefCount;
import dev.rectify.ort.LoraAdapter;
import java.util.Set;

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
    private final RefCount refs;

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
        this.refs = new RefCount("adapter " + id, () -> {
            nativeAdapter.close();
            onClose.run();
        });
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
        return refs.isFreed();
    }

    LoraAdapter nativeAdapter() {
        return nativeAdapter;
    }

    /** Takes a reference unless the adapter is already freed. */
    boolean tryRetain() {
        return refs.tryRetain();
    }

    /** Drops a reference, freeing the native adapter with the last one. */
    void release() {
        refs.release();
    }

    @Override
    public String toString() {
        return "LoadedAdapter[" + id.substring(0, Math.min(12, id.length())) + ", r=" + rank + ", " + byteSize()
                + " bytes]";
    }
}
