package dev.rectify.generate.jinja;

/** An evaluation error inside the interpreter; the renderer adds the template line and rethrows it typed. */
final class JinjaError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    JinjaError(String message) {
        super(message, null, false, false);
    }
}
