package dev.rectify.generate.jinja;

/** Jinja2's default {@code Undefined}: prints as "", is false, iterates as empty, and fails when used further. */
final class Undefined {
    private final String hint;

    Undefined(String hint) {
        this.hint = hint;
    }

    /** Jinja2's message for using this value, e.g. {@code 'x' is undefined}. */
    String hint() {
        return hint;
    }

    JinjaError error() {
        return new JinjaError(hint);
    }

    @Override
    public String toString() {
        return "";
    }
}
