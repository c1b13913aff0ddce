package dev.rectify.adapter;

import dev.rectify.core.InvalidArgumentException;

/** No adapter with that id in the store. */
public class AdapterNotFoundException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;
    private final String id;

    public AdapterNotFoundException(String id, String message) {
        super(message);
        this.id = id;
    }

    public String id() {
        return id;
    }
}
