package dev.rectify.generate.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a Jinja template into text and tag tokens exactly as Jinja2's lexer does under transformers' settings:
 * {@code trim_blocks} (the first newline after a block or comment tag is dropped), {@code lstrip_blocks} (spaces
 * and tabs before a block or comment tag at the start of a line are dropped), the {@code -}/{@code +} whitespace
 * modifiers, and {@code keep_trailing_newline=False} (one newline at the very end of the template is dropped).
 */
final class Lexer {
    enum Kind {
        TEXT,
        VAR_BEGIN,
        VAR_END,
        BLOCK_BEGIN,
        BLOCK_END,
        NAME,
        STRING,
        INT,
        FLOAT,
        OP,
        EOF
    }

    record Token(Kind kind, String text, Object value, int line) {
        boolean is(Kind k, String t) {
            return kind == k && text.equals(t);
        }

        boolean isOp(String t) {
            return kind == Kind.OP && text.equals(t);
        }

        boolean isName(String t) {
            return kind == Kind.NAME && text.equals(t);
        }
    }

    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "[", "]", "(", ")", "{", "}", "<", ">", "=",
        ".", ":", "|", ",", ";"
    };

    private final String src;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private int line = 1;
    private boolean lineStarting = true;

    private Lexer(String source) {
        String s = source.replace("\r\n", "\n").replace('\r', '\n');
        if (s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1); // keep_trailing_newline=False
        }
        this.src = s;
    }

    static List<Token> tokenize(String source) {
        Lexer l = new Lexer(source);
        l.run();
        return l.out;
    }

    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    private void run() {
        while (pos <= src.length()) {
            int tag = nextTag(pos);
            if (tag < 0) {
                emitText(src.substring(pos));
                break;
            }
            String text = src.substring(pos, tag);
            char kind = src.charAt(tag + 1);
            char sign = tag + 2 < src.length() ? src.charAt(tag + 2) : 0;
            boolean hasSign = sign == '-' || sign == '+';
            if (sign == '-') {
                text = rstrip(text);
            } else if (sign != '+' && kind != '{') {
                int lpos = text.lastIndexOf('\n') + 1;
                if ((lpos > 0 || lineStarting) && lpos < text.length() && allSpace(text, lpos)) {
                    text = text.substring(0, lpos);
                }
            }
            emitText(text);
            countLines(src, pos, tag);
            pos = tag + 2 + (hasSign ? 1 : 0);
            if (kind == '#') {
                comment();
            } else if (kind == '%' && isRaw()) {
                raw();
            } else {
                tag(kind == '{');
            }
        }
        out.add(new Token(Kind.EOF, "", null, line));
    }

    private int nextTag(int from) {
        int i = src.indexOf('{', from);
        while (i >= 0 && i + 1 < src.length()) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
            i = src.indexOf('{', i + 1);
        }
        return -1;
    }

    private void emitText(String text) {
        if (!text.isEmpty()) {
            out.add(new Token(Kind.TEXT, text, null, line));
        }
    }

    private void comment() {
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw new TemplateSyntaxException("comment is not closed with #}", line);
        }
        boolean dash = end - 1 >= pos && src.charAt(end - 1) == '-';
        boolean plus = end - 1 >= pos && src.charAt(end - 1) == '+';
        countLines(src, pos, end);
        pos = end + 2;
        afterTagEnd(dash, plus);
    }

    // {% raw %}...{% endraw %}: the content is text, untouched.
    private boolean isRaw() {
        int i = skipSpace(pos);
        return src.startsWith("raw", i) && tagCloseAt(skipSpace(i + 3)) > 0;
    }

    private void raw() {
        int i = skipSpace(pos);
        int close = skipSpace(i + 3);
        int closeLen = tagCloseAt(close);
        boolean strip = src.charAt(close) == '-';
        pos = close + closeLen;
        if (strip) {
            pos = skipSpace(pos);
        }
        int search = pos;
        while (true) {
            int t = src.indexOf("{%", search);
            if (t < 0) {
                throw new TemplateSyntaxException("{% raw %} is not closed with {% endraw %}", line);
            }
            int j = t + 2;
            boolean minus = j < src.length() && src.charAt(j) == '-';
            if (j < src.length() && (src.charAt(j) == '-' || src.charAt(j) == '+')) {
                j++;
            }
            j = skipSpace(j);
            if (src.startsWith("endraw", j)) {
                int c = skipSpace(j + 6);
                int len = tagCloseAt(c);
                if (len > 0) {
                    String text = src.substring(pos, t);
                    emitText(minus ? rstrip(text) : text);
                    countLines(src, pos, c + len);
                    boolean dash = src.charAt(c) == '-';
                    pos = c + len;
                    afterTagEnd(dash, src.charAt(c) == '+');
                    return;
                }
            }
            search = t + 2;
        }
    }

    private int tagCloseAt(int i) {
        if (src.startsWith("%}", i)) {
            return 2;
        }
        if (src.startsWith("-%}", i) || src.startsWith("+%}", i)) {
            return 3;
        }
        return -1;
    }

    private int skipSpace(int i) {
        while (i < src.length() && isSpace(src.charAt(i))) {
            i++;
        }
        return i;
    }

    // After "%}" / "#}" / "}}": "-" eats all following whitespace; otherwise trim_blocks eats one newline (blocks
    // and comments only).
    private void afterTagEnd(boolean dash, boolean plus) {
        afterTagEnd(dash, plus, true);
    }

    private void afterTagEnd(boolean dash, boolean plus, boolean trimBlocks) {
        int start = pos;
        if (dash) {
            pos = skipSpace(pos);
        } else if (!plus && trimBlocks && pos < src.length() && src.charAt(pos) == '\n') {
            pos++;
        }
        String consumed = src.substring(Math.max(0, start - 1), pos);
        lineStarting = consumed.endsWith("\n");
        countLines(src, start, pos);
    }

    private void tag(boolean variable) {
        out.add(new Token(variable ? Kind.VAR_BEGIN : Kind.BLOCK_BEGIN, variable ? "{{" : "{%", null, line));
        int depth = 0;
        while (true) {
            if (pos >= src.length()) {
                throw new TemplateSyntaxException("tag is not closed with " + (variable ? "}}" : "%}"), line);
            }
            char c = src.charAt(pos);
            if (isSpace(c)) {
                if (c == '\n') {
                    line++;
                }
                pos++;
                continue;
            }
            if (depth == 0) {
                String end = variable ? "}}" : "%}";
                boolean dash = src.startsWith("-" + end, pos);
                boolean plus = !variable && src.startsWith("+" + end, pos);
                if (dash || plus || src.startsWith(end, pos)) {
                    pos += end.length() + (dash || plus ? 1 : 0);
                    out.add(new Token(variable ? Kind.VAR_END : Kind.BLOCK_END, end, null, line));
                    afterTagEnd(dash, plus, !variable);
                    return;
                }
            }
            if (c == '\'' || c == '"') {
                string(c);
            } else if (Character.isDigit(c)) {
                number();
            } else if (Character.isLetter(c) || c == '_') {
                int s = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                out.add(new Token(Kind.NAME, src.substring(s, pos), null, line));
            } else {
                String op = null;
                for (String o : OPERATORS) {
                    if (src.startsWith(o, pos)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) {
                    throw new TemplateSyntaxException("unexpected character '" + c + "'", line);
                }
                if (op.equals("(") || op.equals("[") || op.equals("{")) {
                    depth++;
                } else if (op.equals(")") || op.equals("]") || op.equals("}")) {
                    depth = Math.max(0, depth - 1);
                }
                pos += op.length();
                out.add(new Token(Kind.OP, op, null, line));
            }
        }
    }

    private void number() {
        int s = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                pos++;
            }
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int e = pos + 1;
            if (e < src.length() && (src.charAt(e) == '+' || src.charAt(e) == '-')) {
                e++;
            }
            if (e < src.length() && Character.isDigit(src.charAt(e))) {
                isFloat = true;
                pos = e;
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                    pos++;
                }
            }
        }
        String t = src.substring(s, pos).replace("_", "");
        out.add(
                isFloat
                        ? new Token(Kind.FLOAT, t, Double.parseDouble(t), line)
                        : new Token(Kind.INT, t, Long.parseLong(t), line));
    }

    private void string(char quote) {
        int startLine = line;
        StringBuilder b = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw new TemplateSyntaxException("string literal is not closed", startLine);
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                break;
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= src.length()) {
                throw new TemplateSyntaxException("string literal is not closed", startLine);
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> b.append('\n');
                case 't' -> b.append('\t');
                case 'r' -> b.append('\r');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'v' -> b.append('\u000b');
                case 'a' -> b.append('\u0007');
                case '\\' -> b.append('\\');
                case '\'' -> b.append('\'');
                case '"' -> b.append('"');
                case '\n' -> line++;
                case 'x' -> b.appendCodePoint(hex(2, e));
                case 'u' -> b.appendCodePoint(hex(4, e));
                case 'U' -> b.appendCodePoint(hex(8, e));
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0;
                                k < 2 && pos < src.length() && src.charAt(pos) >= '0' && src.charAt(pos) <= '7';
                                k++) {
                            v = v * 8 + (src.charAt(pos++) - '0');
                        }
                        b.appendCodePoint(v);
                    } else {
                        b.append('\\').append(e); // Python keeps unknown escapes as written
                    }
                }
            }
        }
        String s = b.toString();
        out.add(new Token(Kind.STRING, s, s, startLine));
    }

    private int hex(int n, char e) {
        if (pos + n > src.length()) {
            throw new TemplateSyntaxException("truncated \\" + e + " escape in a string literal", line);
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + n), 16);
            pos += n;
            return v;
        } catch (NumberFormatException ex) {
            throw new TemplateSyntaxException("bad \\" + e + " escape in a string literal", line);
        }
    }

    private void countLines(String s, int from, int to) {
        for (int i = from; i < to && i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                line++;
            }
        }
    }

    static String rstrip(String s) {
        int e = s.length();
        while (e > 0 && isSpace(s.charAt(e - 1))) {
            e--;
        }
        return s.substring(0, e);
    }

    private static boolean allSpace(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            if (!isSpace(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
