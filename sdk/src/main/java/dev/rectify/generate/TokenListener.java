package dev.rectify.generate;

/** Receives generated text as it is produced: {@code index} is the prompt's position in the batch. */
@FunctionalInterface
public interface TokenListener {
    /** Called with each new piece of text (never a partial UTF-8 character, never part of a stop string). */
    void onText(int index, String text);

    /** A listener that ignores everything. */
    static TokenListener none() {
        return (i, t) -> {};
    }
}
