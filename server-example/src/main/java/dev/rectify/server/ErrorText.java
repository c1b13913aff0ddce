package dev.rectify.server;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Error messages shown to clients carry no server paths: the data folder and any other absolute path are cut. */
public final class ErrorText {
    /** An absolute path of two or more segments (Unix or Windows). */
    private static final Pattern ABSOLUTE = Pattern.compile("(?:[A-Za-z]:)?(?:[/\\\\][^/\\\\\\s'\":,;()\\[\\]]+){2,}");

    private ErrorText() {}

    /** {@code message} with paths in the data folder made relative to it and other absolute paths cut to their file name. */
    public static String scrub(String message, Path dataDir) {
        if (message == null) {
            return null;
        }
        String s = message.replace(dataDir.toString() + dataDir.getFileSystem().getSeparator(), "")
                .replace(dataDir.toString(), "<data-dir>");
        Matcher m = ABSOLUTE.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String path = m.group();
            int cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
            m.appendReplacement(out, Matcher.quoteReplacement(path.substring(cut + 1)));
        }
        m.appendTail(out);
        return out.toString();
    }
}
