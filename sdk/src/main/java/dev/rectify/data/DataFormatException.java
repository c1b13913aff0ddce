package dev.rectify.data;

import dev.rectify.core.InvalidArgumentException;
import java.nio.file.Path;

/** A training data file has a malformed line: names the file, the 1-based line number and what is wrong. */
public class DataFormatException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long line;

    public DataFormatException(Path file, long line, String message) {
        super(file + ":" + line + ": " + message);
        this.file = file;
        this.line = line;
    }

    /** The file, or null when the data came from a stream. */
    public Path file() {
        return file;
    }

    /** The 1-based line number. */
    public long line() {
        return line;
    }
}
