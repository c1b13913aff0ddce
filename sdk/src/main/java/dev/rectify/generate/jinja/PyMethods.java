package dev.rectify.generate.jinja;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Python methods templates call on values: str (strip, lstrip, rstrip, split, rsplit, splitlines, startswith,
 * endswith, upper, lower, title, capitalize, replace, find, rfind, count, join, isdigit, isspace, isalpha,
 * isalnum, isupper, islower, format), dict (items, keys, values, get) and list (index, count). Mutating methods
 * are absent, as in Jinja2's immutable sandbox.
 */
final class PyMethods {
    private PyMethods() {}

    /** A bound method of {@code obj} named {@code name}, or null when the value has no such method. */
    static PyCallable attribute(Object obj, String name) {
        if (obj instanceof String s) {
            return string(s, name);
        }
        if (obj instanceof Map<?, ?> m) {
            return switch (name) {
                case "items" ->
                    (a, k) -> {
                        List<Object> r = new ArrayList<>();
                        m.forEach((key, v) -> r.add(new PyTuple(Arrays.asList(key, v))));
                        return r;
                    };
                case "keys" -> (a, k) -> new ArrayList<Object>(m.keySet());
                case "values" -> (a, k) -> new ArrayList<Object>(m.values());
                case "get" ->
                    (a, k) -> {
                        arity("get", a, 1, 2);
                        return m.containsKey(a.get(0)) ? m.get(a.get(0)) : a.size() > 1 ? a.get(1) : null;
                    };
                default -> null;
            };
        }
        if (obj instanceof List<?> || obj instanceof PyTuple) {
            List<?> l = obj instanceof PyTuple t ? t.items() : (List<?>) obj;
            return switch (name) {
                case "index" ->
                    (a, k) -> {
                        arity("index", a, 1, 1);
                        for (int i = 0; i < l.size(); i++) {
                            if (Py.eq(l.get(i), a.get(0))) {
                                return (long) i;
                            }
                        }
                        throw new JinjaError(Py.repr(a.get(0)) + " is not in list");
                    };
                case "count" ->
                    (a, k) -> {
                        arity("count", a, 1, 1);
                        return l.stream().filter(x -> Py.eq(x, a.get(0))).count();
                    };
                default -> null;
            };
        }
        return null;
    }

    private static void arity(String name, List<Object> args, int min, int max) {
        if (args.size() < min || args.size() > max) {
            throw new JinjaError(name + "() takes " + (min == max ? String.valueOf(min) : min + " to " + max)
                    + " arguments (" + args.size() + " given)");
        }
    }

    private static String strArg(String method, Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Undefined u) {
            throw u.error();
        }
        throw new JinjaError(method + "() argument must be str, not " + Py.typeName(v));
    }

    private static PyCallable string(String s, String name) {
        switch (name) {
            case "strip":
            case "lstrip":
            case "rstrip":
                return (a, k) -> {
                    arity(name, a, 0, 1);
                    String chars = a.isEmpty() || a.get(0) == null ? null : strArg(name, a.get(0));
                    return strip(s, chars, !name.equals("rstrip"), !name.equals("lstrip"));
                };
            case "split":
            case "rsplit":
                return (a, k) -> {
                    Object sep = a.size() > 0 ? a.get(0) : k.getOrDefault("sep", null);
                    long max = a.size() > 1
                            ? Py.toLong(a.get(1))
                            : k.containsKey("maxsplit") ? Py.toLong(k.get("maxsplit")) : -1;
                    return split(s, sep == null ? null : strArg(name, sep), max, name.equals("rsplit"));
                };
            case "splitlines":
                return (a, k) -> {
                    List<Object> r = new ArrayList<>();
                    for (String line : s.split("\r\n|\n|\r", -1)) {
                        r.add(line);
                    }
                    if (!r.isEmpty() && ((String) r.get(r.size() - 1)).isEmpty()) {
                        r.remove(r.size() - 1);
                    }
                    return r;
                };
            case "startswith":
            case "endswith":
                return (a, k) -> {
                    arity(name, a, 1, 1);
                    List<Object> options = a.get(0) instanceof PyTuple t ? t.items() : List.of(a.get(0));
                    for (Object o : options) {
                        String x = strArg(name, o);
                        if (name.equals("startswith") ? s.startsWith(x) : s.endsWith(x)) {
                            return true;
                        }
                    }
                    return false;
                };
            case "upper":
                return (a, k) -> s.toUpperCase(Locale.ROOT);
            case "lower":
                return (a, k) -> s.toLowerCase(Locale.ROOT);
            case "title":
                return (a, k) -> title(s);
            case "capitalize":
                return (a, k) -> capitalize(s);
            case "replace":
                return (a, k) -> {
                    arity(name, a, 2, 3);
                    long count = a.size() > 2 ? Py.toLong(a.get(2)) : -1;
                    return replace(s, strArg(name, a.get(0)), strArg(name, a.get(1)), count);
                };
            case "find":
                return (a, k) -> (long) s.indexOf(strArg(name, a.get(0)));
            case "rfind":
                return (a, k) -> (long) s.lastIndexOf(strArg(name, a.get(0)));
            case "count":
                return (a, k) -> {
                    String x = strArg(name, a.get(0));
                    if (x.isEmpty()) {
                        return (long) s.length() + 1;
                    }
                    long c = 0;
                    for (int i = s.indexOf(x); i >= 0; i = s.indexOf(x, i + x.length())) {
                        c++;
                    }
                    return c;
                };
            case "join":
                return (a, k) -> {
                    arity(name, a, 1, 1);
                    StringBuilder b = new StringBuilder();
                    List<Object> items = Py.iterate(a.get(0));
                    for (int i = 0; i < items.size(); i++) {
                        if (i > 0) {
                            b.append(s);
                        }
                        b.append(strArg(name, items.get(i)));
                    }
                    return b.toString();
                };
            case "isdigit":
                return (a, k) -> !s.isEmpty() && s.chars().allMatch(Character::isDigit);
            case "isspace":
                return (a, k) -> !s.isEmpty() && s.chars().allMatch(Lexer::isSpace);
            case "isalpha":
                return (a, k) -> !s.isEmpty() && s.chars().allMatch(Character::isLetter);
            case "isalnum":
                return (a, k) -> !s.isEmpty() && s.chars().allMatch(Character::isLetterOrDigit);
            case "isupper":
                return (a, k) ->
                        s.chars().anyMatch(Character::isUpperCase) && s.chars().noneMatch(Character::isLowerCase);
            case "islower":
                return (a, k) ->
                        s.chars().anyMatch(Character::isLowerCase) && s.chars().noneMatch(Character::isUpperCase);
            case "format":
                return (a, k) -> format(s, a, k);
            default:
                return null;
        }
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int b = 0;
        int e = s.length();
        if (left) {
            while (b < e && stripped(s.charAt(b), chars)) {
                b++;
            }
        }
        if (right) {
            while (e > b && stripped(s.charAt(e - 1), chars)) {
                e--;
            }
        }
        return s.substring(b, e);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? Lexer.isSpace(c) : chars.indexOf(c) >= 0;
    }

    static List<Object> split(String s, String sep, long max, boolean fromRight) {
        List<Object> r = new ArrayList<>();
        if (sep == null) {
            List<String> words = new ArrayList<>();
            int i = 0;
            while (i < s.length()) {
                while (i < s.length() && Lexer.isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= s.length()) {
                    break;
                }
                if (max >= 0 && words.size() == max && !fromRight) {
                    words.add(strip(s.substring(i), null, false, true));
                    i = s.length();
                    break;
                }
                int j = i;
                while (j < s.length() && !Lexer.isSpace(s.charAt(j))) {
                    j++;
                }
                words.add(s.substring(i, j));
                i = j;
            }
            r.addAll(words);
            return r;
        }
        if (sep.isEmpty()) {
            throw new JinjaError("empty separator");
        }
        if (fromRight && max >= 0) {
            List<String> parts = new ArrayList<>();
            String rest = s;
            while (max-- > 0) {
                int at = rest.lastIndexOf(sep);
                if (at < 0) {
                    break;
                }
                parts.add(0, rest.substring(at + sep.length()));
                rest = rest.substring(0, at);
            }
            parts.add(0, rest);
            r.addAll(parts);
            return r;
        }
        int from = 0;
        while (true) {
            int at = s.indexOf(sep, from);
            if (at < 0 || (max >= 0 && r.size() == max)) {
                r.add(s.substring(from));
                return r;
            }
            r.add(s.substring(from, at));
            from = at + sep.length();
        }
    }

    static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean cased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
            b.append(cased ? (prevCased ? Character.toLowerCase(c) : Character.toTitleCase(c)) : c);
            prevCased = cased;
        }
        return b.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        return Character.toUpperCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
    }

    static String replace(String s, String old, String with, long count) {
        if (count < 0) {
            if (old.isEmpty()) {
                StringBuilder b = new StringBuilder(with);
                for (int i = 0; i < s.length(); i++) {
                    b.append(s.charAt(i)).append(with);
                }
                return b.toString();
            }
            return s.replace(old, with);
        }
        StringBuilder b = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++) {
            int at = s.indexOf(old, from);
            if (at < 0 || old.isEmpty()) {
                break;
            }
            b.append(s, from, at).append(with);
            from = at + old.length();
        }
        return b.append(s.substring(from)).toString();
    }

    // str.format with {} / {0} / {name} fields (no format specs).
    private static String format(String s, List<Object> args, Map<String, Object> kw) {
        StringBuilder b = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') {
                b.append('{');
                i++;
            } else if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') {
                b.append('}');
                i++;
            } else if (c == '{') {
                int end = s.indexOf('}', i);
                if (end < 0) {
                    throw new JinjaError("single '{' encountered in format string");
                }
                String field = s.substring(i + 1, end);
                if (field.contains(":") || field.contains("!")) {
                    throw new JinjaError("format specifications are not supported: {" + field + "}");
                }
                Object v;
                if (field.isEmpty()) {
                    v = auto < args.size() ? args.get(auto++) : null;
                } else if (field.chars().allMatch(Character::isDigit)) {
                    int idx = Integer.parseInt(field);
                    if (idx >= args.size()) {
                        throw new JinjaError("format index " + idx + " out of range");
                    }
                    v = args.get(idx);
                } else {
                    if (!kw.containsKey(field)) {
                        throw new JinjaError("format field '" + field + "' not given");
                    }
                    v = kw.get(field);
                }
                b.append(Py.str(v));
                i = end;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
