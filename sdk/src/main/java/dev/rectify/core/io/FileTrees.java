package dev.rectify.core.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Recursive deletion of folders: the project's only copy of it. */
public final class FileTrees {
    private FileTrees() {}

    /** Deletes a file or folder tree; nothing happens when {@code p} does not exist. */
    public static void delete(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(x);
            }
        }
    }

    /** Deletes a file or folder tree, ignoring errors (clean-up after a failure that is already being reported). */
    public static void deleteQuietly(Path p) {
        try {
            delete(p);
        } catch (IOException e) {
            // best effort: the caller is already reporting the real failure
        }
    }
}
