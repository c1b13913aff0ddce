package dev.rectify.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The shared reference count: freed once, with the last reference, and never retained again afterwards. */
class RefCountTest {
    @Test
    void freesOnceWithTheLastReference() {
        AtomicInteger freed = new AtomicInteger();
        RefCount rc = new RefCount("thing", freed::incrementAndGet);
        assertTrue(rc.tryRetain(), "a user takes a reference beside the owner's");
        rc.release(); // the owner lets go (eviction)
        assertEquals(0, freed.get(), "the user still holds it");
        assertFalse(rc.isFreed());
        rc.release();
        assertEquals(1, freed.get());
        assertTrue(rc.isFreed());
        assertFalse(rc.tryRetain(), "a freed resource cannot be retained again");
        IllegalStateException e = assertThrows(IllegalStateException.class, rc::release);
        assertTrue(e.getMessage().contains("thing"), e.getMessage());
        assertEquals(1, freed.get());
    }
}
