package dev.rectify.lora;

import dev.rectify.core.ModelFormatException;

/** Stored adapter files fail their checksum or cannot be parsed: corrupt or truncated. Never served. */
public class CorruptAdapterException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public CorruptAdapterException(String message) {
        super(message);
    }

    public CorruptAdapterException(String message, Throwable cause) {
        super(message, cause);
    }
}
