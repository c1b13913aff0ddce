package dev.rectify.generate.jinja;

import dev.rectify.core.InvalidArgumentException;

/**
 * Rendering a chat template failed: the template called {@code raise_exception(message)} (then
 * {@link #raisedByTemplate()} is true and {@link #templateMessage()} is the template's own text), or an expression
 * failed as it would in Jinja2 (an undefined value used, a type error).
 */
public class TemplateRenderException extends InvalidArgumentException {
    private static final long serialVersionUID = 1L;
    private final String templateMessage;
    private final boolean raised;

    private TemplateRenderException(String message, String templateMessage, boolean raised) {
        super(message);
        this.templateMessage = templateMessage;
        this.raised = raised;
    }

    /** The template rejected its input through {@code raise_exception(message)}. */
    public static TemplateRenderException raised(String message) {
        return new TemplateRenderException("chat template rejected the conversation: " + message, message, true);
    }

    /** An evaluation error at {@code line} of the template. */
    public static TemplateRenderException at(int line, String what) {
        return new TemplateRenderException("chat template line " + line + ": " + what, what, false);
    }

    /** The message the template passed to {@code raise_exception}, or the evaluation error. */
    public String templateMessage() {
        return templateMessage;
    }

    /** Whether the template itself raised (rather than failing to evaluate). */
    public boolean raisedByTemplate() {
        return raised;
    }
}
