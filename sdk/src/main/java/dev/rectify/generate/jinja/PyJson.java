package dev.rectify.generate.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps} as transformers' {@code tojson} filter calls it: {@code ensure_ascii=False} by
 * default, no HTML escaping, {@code indent}, {@code separators} and {@code sort_keys} options.
 */
final class PyJson {
    private final boolean ensureAscii;
    private final String indent;
    private final String itemSep;
    private final String keySep;
    private final boolean sortKeys;

    PyJson(boolean ensureAscii, String indent, String itemSep, String keySep, boolean sortKeys) {
        this.ensureAscii = ensureAscii;
        this.indent = indent;
        this.itemSep = itemSep != null ? itemSep : indent != null ? "," : ", ";
        this.keySep = keySep != null ? keySep : ": ";
        this.sortKeys = sortKeys;
    }

    String dumps(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v, 0);
        return b.toString();
    }

    private void newline(StringBuilder b, int level) {
        if (indent != null) {
            b.append('\n');
            b.append(indent.repeat(level));
        }
    }

    private void write(StringBuilder b, Object v, int level) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof Boolean x) {
            b.append(x ? "true" : "false");
        } else if (v instanceof Long x) {
            b.append(x);
        } else if (v instanceof Double d) {
            b.append(
                    Double.isNaN(d)
                            ? "NaN"
                            : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : Py.floatRepr(d));
        } else if (v instanceof String s) {
            string(b, s);
        } else if (v instanceof List<?> || v instanceof PyTuple) {
            List<?> l = v instanceof PyTuple t ? t.items() : (List<?>) v;
            if (l.isEmpty()) {
                b.append("[]");
                return;
            }
            b.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    b.append(itemSep);
                }
                newline(b, level + 1);
                write(b, l.get(i), level + 1);
            }
            newline(b, level);
            b.append(']');
        } else if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) {
                b.append("{}");
                return;
            }
            List<? extends Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
            if (sortKeys) {
                entries.sort((x, y) -> Py.compare(x.getKey(), y.getKey(), "<"));
            }
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : entries) {
                if (!first) {
                    b.append(itemSep);
                }
                first = false;
                newline(b, level + 1);
                Object k = e.getKey();
                if (k instanceof String s) {
                    string(b, s);
                } else if (k == null || k instanceof Boolean || k instanceof Long || k instanceof Double) {
                    string(b, k == null ? "null" : k instanceof Boolean x ? (x ? "true" : "false") : Py.repr(k));
                } else {
                    throw new JinjaError("keys must be str, int, float, bool or None, not " + Py.typeName(k));
                }
                b.append(keySep);
                write(b, e.getValue(), level + 1);
            }
            newline(b, level);
            b.append('}');
        } else {
            throw new JinjaError("Object of type " + Py.typeName(v) + " is not JSON serializable");
        }
    }

    private void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\b' -> b.append("\\b");
                case '\f' -> b.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
