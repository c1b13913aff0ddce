package dev.rectify.eval;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Finds the final answer in a generated solution: the last {@code Answer: <value>} line, normalised. */
public final class AnswerExtractor {
    private static final Pattern ANSWER = Pattern.compile("Answer:\\s*([-+]?[0-9][0-9,]*(?:\\.[0-9]+)?)");

    private AnswerExtractor() {}

    /** The normalised answer, or null when the text states none. */
    public static String extract(String text) {
        Matcher m = ANSWER.matcher(text);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        return last == null ? null : normalise(last);
    }

    /** Removes thousands separators, a leading plus and leading zeros ("0042" → "42", "-0" → "0"). */
    public static String normalise(String answer) {
        String s = answer.strip().replace(",", "");
        if (s.startsWith("+")) {
            s = s.substring(1);
        }
        boolean neg = s.startsWith("-");
        if (neg) {
            s = s.substring(1);
        }
        s = s.replaceFirst("^0+(?=\\d)", "");
        return neg && !s.matches("0+(\\.0+)?") ? "-" + s : s;
    }
}
