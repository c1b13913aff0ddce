package dev.rectify.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** Resolves a path named in a request and refuses any that leaves the data folder (.., absolute elsewhere, symlinks). */
public final class SafePaths {
    private SafePaths() {}

    public static Path inside(Path dataDir, String requested, String param) {
        if (requested == null || requested.isBlank()) {
            throw ApiException.invalid(param, "missing required parameter '" + param + "'");
        }
        if (requested.indexOf('\0') >= 0) {
            throw ApiException.invalid(param, "invalid_path", "'" + param + "' contains a NUL character");
        }
        Path p;
        try {
            Path given = Path.of(requested);
            p = (given.isAbsolute() ? given : dataDir.resolve(given)).normalize();
        } catch (InvalidPathException e) {
            throw ApiException.invalid(param, "invalid_path", "'" + param + "' is not a valid path: " + e.getReason());
        }
        if (!p.startsWith(dataDir)) {
            throw ApiException.invalid(
                    param,
                    "path_outside_data_dir",
                    "'" + param + "' must name a folder inside the data folder (" + dataDir
                            + "); put the adapter there and give its path relative to it");
        }
        try {
            if (Files.exists(p) && !p.toRealPath().startsWith(dataDir.toRealPath())) {
                throw ApiException.invalid(
                        param,
                        "path_outside_data_dir",
                        "'" + param + "' resolves (through a link) outside the data folder");
            }
        } catch (IOException e) {
            throw ApiException.invalid(param, "invalid_path", "cannot resolve '" + param + "': " + e.getMessage());
        }
        return p;
    }
}
