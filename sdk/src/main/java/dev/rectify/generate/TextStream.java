package dev.rectify.generate;

import java.util.Arrays;
import java.util.List;

/**
 * Turns a growing list of token ids into text that is safe to show: it never emits half a UTF-8 character (the
 * decoder's U+FFFD) nor a prefix of a stop string that may still complete. Finds the first stop string.
 */
final class TextStream {
    private final Tokenizer tokenizer;
    private final List<String> stops;
    private long[] ids = new long[16];
    private int size;
    private int emitted;
    private String text = "";
    private int stopAt = -1;

    TextStream(Tokenizer tokenizer, List<String> stops) {
        this.tokenizer = tokenizer;
        this.stops = stops;
    }

    /** Appends a token; returns the newly safe text (possibly empty). */
    String push(long id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
        text = tokenizer.decode(Arrays.copyOf(ids, size), true);
        for (String s : stops) {
            int at = text.indexOf(s);
            if (at >= 0 && (stopAt < 0 || at < stopAt)) {
                stopAt = at;
            }
        }
        int safe = stopAt >= 0 ? stopAt : safeEnd(text);
        if (safe <= emitted) {
            return "";
        }
        String piece = text.substring(emitted, safe);
        emitted = safe;
        return piece;
    }

    /** Whether a stop string has appeared. */
    boolean stopped() {
        return stopAt >= 0;
    }

    /** Emits whatever is still held back (called once the sequence ends). */
    String flush() {
        int end = stopAt >= 0 ? stopAt : text.length();
        while (end > emitted && text.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        if (end <= emitted) {
            return "";
        }
        String piece = text.substring(emitted, end);
        emitted = end;
        return piece;
    }

    /** The final text: everything up to the first stop string. */
    String finalText() {
        String t = stopAt >= 0 ? text.substring(0, stopAt) : text;
        int end = t.length();
        while (end > 0 && t.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        return t.substring(0, end);
    }

    long[] ids() {
        return Arrays.copyOf(ids, size);
    }

    private int safeEnd(String t) {
        int end = t.length();
        while (end > emitted && t.charAt(end - 1) == '\uFFFD') {
            end--;
        }
        // hold back the longest suffix that is a proper prefix of a stop string
        int hold = 0;
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, end); k > hold; k--) {
                if (t.startsWith(s.substring(0, k), end - k)) {
                    hold = k;
                    break;
                }
            }
        }
        return Math.max(emitted, end - hold);
    }
}
