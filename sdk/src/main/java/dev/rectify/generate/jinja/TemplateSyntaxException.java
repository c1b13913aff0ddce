package dev.rectify.generate.jinja;

import dev.rectify.core.ModelFormatException;

/** A chat template that is not valid Jinja (or uses a construct Rectify does not implement); names the line. */
public class TemplateSyntaxException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    public TemplateSyntaxException(String what, int line) {
        super("chat template line " + line + ": " + what);
    }
}
