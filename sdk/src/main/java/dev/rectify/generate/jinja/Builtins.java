package dev.rectify.generate.jinja;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Jinja2's built-in filters and tests that chat templates use, with transformers' {@code tojson} (no HTML
 * escaping; indent, separators, sort_keys, ensure_ascii). An unknown filter or test is an error, as in Jinja2.
 *
 * <p>Over 400 lines because it is the one table of Jinja2's filters and tests; splitting it would scatter a list
 * that is read (and checked against Jinja2's documentation) as a whole.
 */
final class Builtins {
    private Builtins() {}

    private static Object arg(List<Object> args, Map<String, Object> kw, int i, String name, Object dflt) {
        if (i < args.size()) {
            return args.get(i);
        }
        return kw.containsKey(name) ? kw.get(name) : dflt;
    }

    static boolean hasFilter(String name) {
        return FILTERS.contains(name);
    }

    private static final Set<String> FILTERS = Set.of(
            "trim",
            "tojson",
            "length",
            "count",
            "join",
            "default",
            "d",
            "first",
            "last",
            "list",
            "lower",
            "upper",
            "title",
            "capitalize",
            "replace",
            "string",
            "int",
            "float",
            "abs",
            "round",
            "items",
            "selectattr",
            "rejectattr",
            "select",
            "reject",
            "map",
            "unique",
            "sort",
            "reverse",
            "sum",
            "min",
            "max",
            "dictsort",
            "indent",
            "safe",
            "escape",
            "e",
            "attr",
            "wordcount",
            "center",
            "batch",
            "truncate",
            "format",
            "striptags",
            "forceescape",
            "urlencode");

    static Object filter(String name, Object v, List<Object> args, Map<String, Object> kw, Renderer r) {
        switch (name) {
            case "trim": {
                Object chars = arg(args, kw, 0, "chars", null);
                return PyMethods.strip(Py.str(v), chars == null ? null : Py.str(chars), true, true);
            }
            case "tojson": {
                Object indent = arg(args, kw, 0, "indent", null);
                String ind =
                        indent == null ? null : indent instanceof String s ? s : " ".repeat((int) Py.toLong(indent));
                Object seps = kw.get("separators");
                String itemSep = null;
                String keySep = null;
                if (seps != null) {
                    List<Object> sl = Py.iterate(seps);
                    itemSep = Py.str(sl.get(0));
                    keySep = Py.str(sl.get(1));
                }
                boolean ascii = Py.truthy(kw.getOrDefault("ensure_ascii", false));
                boolean sort = Py.truthy(kw.getOrDefault("sort_keys", false));
                if (v instanceof Undefined) {
                    throw new JinjaError("Object of type Undefined is not JSON serializable");
                }
                return new PyJson(ascii, ind, itemSep, keySep, sort).dumps(v);
            }
            case "length":
            case "count":
                return Py.len(v);
            case "join": {
                String sep = Py.str(arg(args, kw, 0, "d", ""));
                Object attribute = arg(args, kw, 1, "attribute", null);
                StringBuilder b = new StringBuilder();
                List<Object> items = Py.iterate(v);
                for (int i = 0; i < items.size(); i++) {
                    if (i > 0) {
                        b.append(sep);
                    }
                    Object item = attribute == null ? items.get(i) : attribute(items.get(i), attribute);
                    b.append(Py.str(item));
                }
                return b.toString();
            }
            case "default":
            case "d": {
                Object dflt = arg(args, kw, 0, "default_value", "");
                boolean bool = Py.truthy(arg(args, kw, 1, "boolean", false));
                return (v instanceof Undefined || (bool && !Py.truthy(v))) ? dflt : v;
            }
            case "first": {
                List<Object> items = Py.iterate(v);
                return items.isEmpty() ? new Undefined("No first item, sequence was empty.") : items.get(0);
            }
            case "last": {
                List<Object> items = Py.iterate(v);
                return items.isEmpty()
                        ? new Undefined("No last item, sequence was empty.")
                        : items.get(items.size() - 1);
            }
            case "list":
                return Py.iterate(v);
            case "lower":
                return Py.str(v).toLowerCase(Locale.ROOT);
            case "upper":
                return Py.str(v).toUpperCase(Locale.ROOT);
            case "title":
                return PyMethods.title(Py.str(v));
            case "capitalize":
                return PyMethods.capitalize(Py.str(v));
            case "replace": {
                Object count = arg(args, kw, 2, "count", null);
                return PyMethods.replace(
                        Py.str(v),
                        Py.str(arg(args, kw, 0, "old", "")),
                        Py.str(arg(args, kw, 1, "new", "")),
                        count == null ? -1 : Py.toLong(count));
            }
            case "string":
                return Py.str(v);
            case "int": {
                Object dflt = arg(args, kw, 0, "default", 0L);
                if (Py.isIntLike(v)) {
                    return Py.toLong(v);
                }
                if (v instanceof Double d) {
                    return (long) (double) d;
                }
                try {
                    return Long.parseLong(Py.str(v).strip());
                } catch (NumberFormatException e) {
                    try {
                        return (long) Double.parseDouble(Py.str(v).strip());
                    } catch (NumberFormatException e2) {
                        return dflt;
                    }
                }
            }
            case "float": {
                Object dflt = arg(args, kw, 0, "default", 0.0);
                if (Py.isNumber(v)) {
                    return Py.toDouble(v);
                }
                try {
                    return Double.parseDouble(Py.str(v).strip());
                } catch (NumberFormatException e) {
                    return dflt;
                }
            }
            case "abs":
                return v instanceof Double d ? (Object) Math.abs(d) : (Object) Math.abs(Py.toLong(v));
            case "round": {
                long precision = Py.toLong(arg(args, kw, 0, "precision", 0L));
                String method = Py.str(arg(args, kw, 1, "method", "common"));
                RoundingMode mode = switch (method) {
                    case "ceil" -> RoundingMode.CEILING;
                    case "floor" -> RoundingMode.FLOOR;
                    default -> RoundingMode.HALF_UP;
                };
                return new BigDecimal(Py.toDouble(v))
                        .setScale((int) precision, mode)
                        .doubleValue();
            }
            case "items": {
                if (v instanceof Undefined) {
                    return List.of();
                }
                if (!(v instanceof Map<?, ?> m)) {
                    throw new JinjaError("Can only get item pairs from a mapping.");
                }
                List<Object> out = new ArrayList<>();
                m.forEach((k, x) -> out.add(new PyTuple(Arrays.asList(k, x))));
                return out;
            }
            case "selectattr":
            case "rejectattr":
            case "select":
            case "reject": {
                boolean byAttr = name.endsWith("attr");
                boolean keep = name.startsWith("select");
                int k = 0;
                Object attribute = byAttr ? args.get(k++) : null;
                String test = args.size() > k ? Py.str(args.get(k++)) : null;
                List<Object> testArgs = new ArrayList<>(args.subList(Math.min(k, args.size()), args.size()));
                List<Object> out = new ArrayList<>();
                for (Object item : Py.iterate(v)) {
                    Object x = byAttr ? attribute(item, attribute) : item;
                    boolean ok = test == null ? Py.truthy(x) : test(test, x, testArgs, r);
                    if (ok == keep) {
                        out.add(item);
                    }
                }
                return out;
            }
            case "map": {
                List<Object> out = new ArrayList<>();
                if (kw.containsKey("attribute")) {
                    Object attribute = kw.get("attribute");
                    for (Object item : Py.iterate(v)) {
                        Object x = attribute(item, attribute);
                        out.add(x instanceof Undefined && kw.containsKey("default") ? kw.get("default") : x);
                    }
                    return out;
                }
                if (args.isEmpty()) {
                    throw new JinjaError("map requires a filter argument");
                }
                String f = Py.str(args.get(0));
                List<Object> rest = new ArrayList<>(args.subList(1, args.size()));
                for (Object item : Py.iterate(v)) {
                    out.add(filter(f, item, rest, Map.of(), r));
                }
                return out;
            }
            case "unique": {
                List<Object> out = new ArrayList<>();
                for (Object item : Py.iterate(v)) {
                    if (out.stream().noneMatch(o -> Py.eq(o, item))) {
                        out.add(item);
                    }
                }
                return out;
            }
            case "sort": {
                boolean reverse = Py.truthy(arg(args, kw, 0, "reverse", false));
                boolean caseSensitive = Py.truthy(arg(args, kw, 1, "case_sensitive", false));
                Object attribute = arg(args, kw, 2, "attribute", null);
                List<Object> out = Py.iterate(v);
                Comparator<Object> cmp = (a, b) -> {
                    Object x = attribute == null ? a : attribute(a, attribute);
                    Object y = attribute == null ? b : attribute(b, attribute);
                    if (!caseSensitive && x instanceof String s && y instanceof String t) {
                        return s.toLowerCase(Locale.ROOT).compareTo(t.toLowerCase(Locale.ROOT));
                    }
                    return Py.compare(x, y, "<");
                };
                out.sort(reverse ? cmp.reversed() : cmp);
                return out;
            }
            case "dictsort": {
                if (!(v instanceof Map<?, ?> m)) {
                    throw new JinjaError("dictsort needs a mapping");
                }
                List<Object> out = new ArrayList<>();
                m.forEach((k, x) -> out.add(new PyTuple(Arrays.asList(k, x))));
                out.sort((a, b) -> {
                    Object x = ((PyTuple) a).items().get(0);
                    Object y = ((PyTuple) b).items().get(0);
                    if (x instanceof String s && y instanceof String t) {
                        return s.toLowerCase(Locale.ROOT).compareTo(t.toLowerCase(Locale.ROOT));
                    }
                    return Py.compare(x, y, "<");
                });
                return out;
            }
            case "reverse": {
                if (v instanceof String s) {
                    return new StringBuilder(s).reverse().toString();
                }
                List<Object> out = Py.iterate(v);
                Collections.reverse(out);
                return out;
            }
            case "sum": {
                Object attribute = arg(args, kw, 0, "attribute", null);
                Object total = arg(args, kw, 1, "start", 0L);
                for (Object item : Py.iterate(v)) {
                    total = Py.binary("+", total, attribute == null ? item : attribute(item, attribute));
                }
                return total;
            }
            case "min":
            case "max": {
                List<Object> items = Py.iterate(v);
                if (items.isEmpty()) {
                    return new Undefined("No aggregated item, sequence was empty.");
                }
                Object best = items.get(0);
                for (Object item : items) {
                    int c = Py.compare(item, best, "<");
                    if (name.equals("min") ? c < 0 : c > 0) {
                        best = item;
                    }
                }
                return best;
            }
            case "indent": {
                Object width = arg(args, kw, 0, "width", 4L);
                boolean first = Py.truthy(arg(args, kw, 1, "first", false));
                boolean blank = Py.truthy(arg(args, kw, 2, "blank", false));
                String ind = width instanceof String s ? s : " ".repeat((int) Py.toLong(width));
                String s = Py.str(v) + "\n";
                List<String> lines = new ArrayList<>();
                for (Object line :
                        (List<?>) PyMethods.attribute(s, "splitlines").call(List.of(), Map.of())) {
                    lines.add((String) line);
                }
                StringBuilder rv = new StringBuilder();
                if (blank) {
                    rv.append(String.join("\n" + ind, lines));
                } else {
                    rv.append(lines.isEmpty() ? "" : lines.get(0));
                    for (int i = 1; i < lines.size(); i++) {
                        rv.append('\n');
                        if (!lines.get(i).isEmpty()) {
                            rv.append(ind);
                        }
                        rv.append(lines.get(i));
                    }
                }
                return first ? ind + rv : rv.toString();
            }
            case "safe":
                return v;
            case "escape":
            case "e":
            case "forceescape":
                return Py.str(v)
                        .replace("&", "&amp;")
                        .replace("<", "&lt;")
                        .replace(">", "&gt;")
                        .replace("\"", "&#34;")
                        .replace("'", "&#39;");
            case "attr":
                return Py.getAttr(v, Py.str(args.get(0)));
            case "wordcount":
                return (long) PyMethods.split(Py.str(v), null, -1, false).size();
            case "center": {
                int width = (int) Py.toLong(arg(args, kw, 0, "width", 80L));
                String s = Py.str(v);
                int total = width - s.length();
                if (total <= 0) {
                    return s;
                }
                int left = total / 2 + (total & width & 1);
                return " ".repeat(left) + s + " ".repeat(total - left);
            }
            default:
                throw new JinjaError("filter '" + name + "' is not supported (no such filter in Rectify's Jinja)");
        }
    }

    // attribute="a.b" or an integer index, as Jinja2's make_attrgetter.
    private static Object attribute(Object item, Object attribute) {
        if (Py.isIntLike(attribute)) {
            return Py.getItem(item, attribute);
        }
        Object x = item;
        for (String part : Py.str(attribute).split("\\.")) {
            x = part.chars().allMatch(Character::isDigit) && !part.isEmpty()
                    ? Py.getItem(x, Long.parseLong(part))
                    : Py.getItem(x, part);
        }
        return x;
    }

    static boolean test(String name, Object v, List<Object> args, Renderer r) {
        Object a = args.isEmpty() ? null : args.get(0);
        switch (name) {
            case "defined":
                return !(v instanceof Undefined);
            case "undefined":
                return v instanceof Undefined;
            case "none":
                return v == null;
            case "boolean":
                return v instanceof Boolean;
            case "true":
                return Boolean.TRUE.equals(v);
            case "false":
                return Boolean.FALSE.equals(v);
            case "integer":
                return v instanceof Long;
            case "float":
                return v instanceof Double;
            case "number":
                return Py.isNumber(v);
            case "string":
                return v instanceof String;
            case "mapping":
                return v instanceof Map;
            case "iterable":
                return v instanceof String
                        || v instanceof List
                        || v instanceof PyTuple
                        || v instanceof Map
                        || v instanceof Undefined;
            case "sequence":
                return v instanceof String
                        || v instanceof List
                        || v instanceof PyTuple
                        || v instanceof Map
                        || v instanceof Undefined;
            case "callable":
                return v instanceof PyCallable;
            case "sameas":
                return v == a || (v instanceof Boolean && v.equals(a));
            case "equalto":
            case "eq":
            case "==":
                return Py.eq(v, a);
            case "ne":
            case "!=":
                return !Py.eq(v, a);
            case "lt":
            case "lessthan":
            case "<":
                return Py.compare(v, a, "<") < 0;
            case "le":
            case "<=":
                return Py.compare(v, a, "<=") <= 0;
            case "gt":
            case "greaterthan":
            case ">":
                return Py.compare(v, a, ">") > 0;
            case "ge":
            case ">=":
                return Py.compare(v, a, ">=") >= 0;
            case "in":
                return Py.contains(a, v);
            case "odd":
                return Math.floorMod(Py.toLong(v), 2) == 1;
            case "even":
                return Math.floorMod(Py.toLong(v), 2) == 0;
            case "divisibleby":
                return Math.floorMod(Py.toLong(v), Py.toLong(a)) == 0;
            case "lower":
                return Py.str(v).equals(Py.str(v).toLowerCase(Locale.ROOT));
            case "upper":
                return Py.str(v).equals(Py.str(v).toUpperCase(Locale.ROOT));
            case "escaped":
                return false;
            case "filter":
                return hasFilter(Py.str(v));
            case "test":
                return TESTS.contains(Py.str(v));
            default:
                throw new JinjaError("test '" + name + "' is not supported (no such test in Rectify's Jinja)");
        }
    }

    private static final Set<String> TESTS = Set.of(
            "defined",
            "undefined",
            "none",
            "boolean",
            "true",
            "false",
            "integer",
            "float",
            "number",
            "string",
            "mapping",
            "iterable",
            "sequence",
            "callable",
            "sameas",
            "equalto",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "in",
            "odd",
            "even",
            "divisibleby",
            "lower",
            "upper",
            "escaped",
            "filter",
            "test");

    /** {@code dict(**kw)}. */
    static Map<Object, Object> dict(List<Object> args, Map<String, Object> kw) {
        Map<Object, Object> m = new LinkedHashMap<>();
        if (!args.isEmpty() && args.get(0) instanceof Map<?, ?> src) {
            m.putAll(src);
        }
        m.putAll(kw);
        return m;
    }
}
