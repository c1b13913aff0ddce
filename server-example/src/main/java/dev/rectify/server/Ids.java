package dev.rectify.server;

import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/** Identifiers: random ids with a prefix, a monotonic sequence for ordering, and the validation of ids from requests. */
public final class Ids {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ALPHABET =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".toCharArray();
    private static final AtomicLong LAST = new AtomicLong();
    /**
     * Served model names (base or adapter), at most 200 characters: segments of letters, digits, '.', '_', ':' and '-'
     * that start with a letter or digit, joined by single '/' (as in Hugging Face's {@code org/name}); never a file path
     * (no empty, '.' or '..' segment, no leading or trailing slash). Names are never used to name files.
     */
    public static final Pattern MODEL_NAME =
            Pattern.compile("(?=.{1,200}$)[A-Za-z0-9][A-Za-z0-9._:-]*(/[A-Za-z0-9][A-Za-z0-9._:-]*)*");

    private static final Pattern RANDOM_PART = Pattern.compile("[A-Za-z0-9]{1,64}");

    private Ids() {}

    public static String newId(String prefix) {
        char[] c = new char[24];
        for (int i = 0; i < c.length; i++) {
            c[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        }
        return prefix + "-" + new String(c);
    }

    /** A number larger than every earlier one in this process and, clocks permitting, in earlier runs. */
    public static long seq() {
        long now = System.currentTimeMillis() * 1000;
        return LAST.updateAndGet(prev -> Math.max(prev + 1, now));
    }

    /** Checks an id taken from a request ({@code file-…}, {@code ftjob-…}, ...): a 400 naming {@code param} if bad. */
    public static String check(String id, String prefix, String param) {
        if (id == null
                || !id.startsWith(prefix + "-")
                || !RANDOM_PART.matcher(id.substring(prefix.length() + 1)).matches()) {
            throw ApiException.invalid(
                    param,
                    "invalid_id",
                    "'" + param + "' must be an id like " + prefix
                            + "-abc123 (letters and digits after the prefix), got " + quote(id));
        }
        return id;
    }

    public static String checkModel(String name, String param) {
        if (name == null || !MODEL_NAME.matcher(name).matches()) {
            throw ApiException.invalid(
                    param,
                    "invalid_model",
                    "'" + param + "' must be a model name (letters, digits, '.', '_', "
                            + "':', '-', and '/' between parts; at most 200), got " + quote(name));
        }
        return name;
    }

    static String quote(String s) {
        if (s == null) {
            return "nothing";
        }
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return "'" + t.replaceAll("[\\p{Cntrl}]", "?") + "'";
    }
}
