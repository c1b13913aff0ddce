package dev.rectify.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atomic file writes and folder publication. */
class AtomicFileTest {
    @TempDir
    Path dir;

    @Test
    void writeReplacesTheTargetAndLeavesNoTemporaryFile() throws IOException {
        Path f = dir.resolve("sub").resolve("state.json");
        AtomicFile.write(f, "one".getBytes());
        AtomicFile.write(f, "two".getBytes());
        assertEquals("two", Files.readString(f));
        try (var files = Files.list(f.getParent())) {
            assertEquals(1, files.count(), "only the target is left");
        }
    }

    @Test
    void publishDirectoryMovesOnceAndLeavesALoserStaged() throws IOException {
        Path target = dir.resolve("entry");
        Path first = Files.createDirectory(dir.resolve(".first"));
        Files.writeString(first.resolve("a"), "first");
        assertTrue(AtomicFile.publishDirectory(first, target));
        assertFalse(Files.exists(first));
        assertEquals("first", Files.readString(target.resolve("a")));

        Path second = Files.createDirectory(dir.resolve(".second"));
        Files.writeString(second.resolve("a"), "second");
        assertFalse(AtomicFile.publishDirectory(second, target), "the target exists: the first writer won");
        assertEquals("first", Files.readString(target.resolve("a")), "the winner's copy is untouched");
        assertTrue(Files.exists(second.resolve("a")), "the loser's folder is left for the caller to delete");
        FileTrees.delete(second);
        assertFalse(Files.exists(second));
    }
}
