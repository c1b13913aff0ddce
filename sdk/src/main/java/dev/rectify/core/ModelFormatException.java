package dev.rectify.core;

import java.nio.file.Path;

/** A model file or folder is missing, unreadable, corrupt, or not the kind of model Rectify expects. */
public class ModelFormatException extends RectifyException {
    private static final long serialVersionUID = 1L;

    public ModelFormatException(String message) {
        super(message);
    }

    public ModelFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A message prefixed with the file it is about. */
    public static ModelFormatException at(Path file, String what) {
        return new ModelFormatException(file + ": " + what);
    }

    public static ModelFormatException at(Path file, String what, Throwable cause) {
        return new ModelFormatException(file + ": " + what, cause);
    }
}
