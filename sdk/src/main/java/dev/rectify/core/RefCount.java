package dev.rectify.core;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A reference count for a shared native resource: it starts with the owner's reference, {@link #tryRetain()} adds
 * one unless the resource is freed already, and the last {@link #release()} runs the free action once, so an owner
 * evicting or closing it never frees it under a user still holding a reference.
 */
public final class RefCount {
    private final AtomicInteger refs = new AtomicInteger(1);
    private final String what;
    private final Runnable free;

    /**
     * @param what what is counted, for the error on too many releases
     * @param free run by the last release
     */
    public RefCount(String what, Runnable free) {
        this.what = what;
        this.free = free;
    }

    /** Takes a reference unless the resource is freed already. */
    public boolean tryRetain() {
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

    /**
     * Drops a reference, freeing the resource with the last one.
     *
     * @throws IllegalStateException when released more often than retained
     */
    public void release() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            free.run();
        } else if (r < 0) {
            throw new IllegalStateException(what + " released more often than retained");
        }
    }

    /** Whether the last reference is gone (the resource is freed). */
    public boolean isFreed() {
        return refs.get() <= 0;
    }
}
