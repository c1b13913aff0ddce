package dev.rectify.generate.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Python value semantics for the interpreter: None is {@code null}; bool, int, float and str are Boolean, Long,
 * Double and String; lists are {@link List}, dicts are insertion-ordered {@link Map}s, tuples {@link PyTuple}.
 * Truthiness, {@code str()}/{@code repr()} (float repr included), equality, ordering, arithmetic, membership,
 * indexing with negative indices, slicing and attribute lookup follow CPython and Jinja2's sandbox.
 *
 * <p>Over 400 lines because these operations share one value model and are only correct together (equality is
 * used by membership, comparison by sorting); each is a short static method.
 */
final class Py {
    private Py() {}

    static boolean truthy(Object v) {
        if (v == null || v instanceof Undefined) {
            return false;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        if (v instanceof Long l) {
            return l != 0;
        }
        if (v instanceof Double d) {
            return d != 0.0;
        }
        if (v instanceof String s) {
            return !s.isEmpty();
        }
        if (v instanceof List<?> l) {
            return !l.isEmpty();
        }
        if (v instanceof PyTuple t) {
            return !t.items().isEmpty();
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        return true;
    }

    static String typeName(Object v) {
        if (v == null) {
            return "NoneType";
        }
        if (v instanceof Undefined) {
            return "Undefined";
        }
        if (v instanceof Boolean) {
            return "bool";
        }
        if (v instanceof Long) {
            return "int";
        }
        if (v instanceof Double) {
            return "float";
        }
        if (v instanceof String) {
            return "str";
        }
        if (v instanceof List) {
            return "list";
        }
        if (v instanceof PyTuple) {
            return "tuple";
        }
        if (v instanceof Map) {
            return "dict";
        }
        if (v instanceof Namespace) {
            return "Namespace";
        }
        if (v instanceof LoopContext) {
            return "LoopContext";
        }
        if (v instanceof PyCallable) {
            return "function";
        }
        return v.getClass().getSimpleName();
    }

    /** Python's {@code str(v)}; Undefined prints as "". */
    static String str(Object v) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Undefined) {
            return "";
        }
        return repr(v);
    }

    static String repr(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (v instanceof Long l) {
            return Long.toString(l);
        }
        if (v instanceof Double d) {
            return floatRepr(d);
        }
        if (v instanceof String s) {
            return strRepr(s);
        }
        if (v instanceof List<?> l) {
            return join(l, "[", "]", false);
        }
        if (v instanceof PyTuple t) {
            return join(t.items(), "(", ")", t.items().size() == 1);
        }
        if (v instanceof Map<?, ?> m) {
            StringBuilder b = new StringBuilder("{");
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) {
                    b.append(", ");
                }
                first = false;
                b.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
            }
            return b.append('}').toString();
        }
        if (v instanceof Undefined) {
            return "Undefined";
        }
        return v.toString();
    }

    private static String join(List<?> items, String open, String close, boolean trailingComma) {
        StringBuilder b = new StringBuilder(open);
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(repr(items.get(i)));
        }
        if (trailingComma) {
            b.append(',');
        }
        return b.append(close).toString();
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale(); // decimal exponent of the first digit
        String sign = d < 0 ? "-" : "";
        if (exp < -4 || exp >= 16) {
            String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            String e = String.format("%02d", Math.abs(exp));
            return sign + mant + "e" + (exp < 0 ? "-" : "+") + e;
        }
        String plain = bd.toPlainString();
        if (!plain.contains(".")) {
            plain = plain + ".0";
        }
        return sign + plain;
    }

    static String strRepr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder().append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == quote || c == '\\') {
                b.append('\\').append(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (c < 0x20 || c == 0x7f) {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append(quote).toString();
    }

    // ---- numbers ----

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static boolean isIntLike(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static long toLong(Object v) {
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof Boolean b) {
            return b ? 1 : 0;
        }
        throw new JinjaError("an integer is required, got " + typeName(v));
    }

    static double toDouble(Object v) {
        if (v instanceof Double d) {
            return d;
        }
        return toLong(v);
    }

    // ---- equality and ordering ----

    static boolean eq(Object a, Object b) {
        if (a instanceof Undefined || b instanceof Undefined) {
            return a instanceof Undefined && b instanceof Undefined;
        }
        if (a == null || b == null) {
            return a == b;
        }
        if (isNumber(a) && isNumber(b)) {
            if (isIntLike(a) && isIntLike(b)) {
                return toLong(a) == toLong(b);
            }
            return toDouble(a) == toDouble(b);
        }
        if (a instanceof String || b instanceof String) {
            return a.equals(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            return seqEq(x, y);
        }
        if (a instanceof PyTuple x && b instanceof PyTuple y) {
            return seqEq(x.items(), y.items());
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !eq(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return a == b;
    }

    private static boolean seqEq(List<?> x, List<?> y) {
        if (x.size() != y.size()) {
            return false;
        }
        for (int i = 0; i < x.size(); i++) {
            if (!eq(x.get(i), y.get(i))) {
                return false;
            }
        }
        return true;
    }

    static int compare(Object a, Object b, String op) {
        if (isNumber(a) && isNumber(b)) {
            if (isIntLike(a) && isIntLike(b)) {
                return Long.compare(toLong(a), toLong(b));
            }
            return Double.compare(toDouble(a), toDouble(b));
        }
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        List<?> x = a instanceof PyTuple t ? t.items() : a instanceof List<?> l ? l : null;
        List<?> y = b instanceof PyTuple t ? t.items() : b instanceof List<?> l ? l : null;
        if (x != null && y != null && (a instanceof PyTuple) == (b instanceof PyTuple)) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) {
                    return compare(x.get(i), y.get(i), op);
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        throw new JinjaError(
                "'" + op + "' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    // ---- arithmetic ----

    static Object binary(String op, Object a, Object b) {
        if (a instanceof Undefined u) {
            throw u.error();
        }
        if (b instanceof Undefined u) {
            throw u.error();
        }
        if (isNumber(a) && isNumber(b)) {
            return numeric(op, a, b);
        }
        if (op.equals("+")) {
            if (a instanceof String x && b instanceof String y) {
                return x + y;
            }
            if (a instanceof List<?> x && b instanceof List<?> y) {
                List<Object> r = new ArrayList<>(x);
                r.addAll(y);
                return r;
            }
            if (a instanceof PyTuple x && b instanceof PyTuple y) {
                List<Object> r = new ArrayList<>(x.items());
                r.addAll(y.items());
                return new PyTuple(r);
            }
            if (a instanceof String) {
                throw new JinjaError("can only concatenate str (not \"" + typeName(b) + "\") to str");
            }
            if (a instanceof List) {
                throw new JinjaError("can only concatenate list (not \"" + typeName(b) + "\") to list");
            }
        }
        if (op.equals("*")) {
            if ((a instanceof String || a instanceof List) && isIntLike(b)) {
                return repeat(a, toLong(b));
            }
            if ((b instanceof String || b instanceof List) && isIntLike(a)) {
                return repeat(b, toLong(a));
            }
        }
        if (op.equals("%") && a instanceof String) {
            throw new JinjaError("printf-style string formatting is not supported; use ~ or format()");
        }
        throw new JinjaError(
                "unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
    }

    private static Object repeat(Object seq, long n) {
        if (seq instanceof String s) {
            return n <= 0 ? "" : s.repeat((int) n);
        }
        List<Object> r = new ArrayList<>();
        for (long i = 0; i < n; i++) {
            r.addAll((List<?>) seq);
        }
        return r;
    }

    private static Object numeric(String op, Object a, Object b) {
        boolean ints = isIntLike(a) && isIntLike(b);
        switch (op) {
            case "+":
                return ints ? (Object) (toLong(a) + toLong(b)) : (Object) (toDouble(a) + toDouble(b));
            case "-":
                return ints ? (Object) (toLong(a) - toLong(b)) : (Object) (toDouble(a) - toDouble(b));
            case "*":
                return ints ? (Object) (toLong(a) * toLong(b)) : (Object) (toDouble(a) * toDouble(b));
            case "/":
                if (toDouble(b) == 0) {
                    throw new JinjaError("division by zero");
                }
                return toDouble(a) / toDouble(b);
            case "//":
                if (toDouble(b) == 0) {
                    throw new JinjaError("integer division or modulo by zero");
                }
                return ints
                        ? (Object) Math.floorDiv(toLong(a), toLong(b))
                        : (Object) Math.floor(toDouble(a) / toDouble(b));
            case "%":
                if (toDouble(b) == 0) {
                    throw new JinjaError("integer division or modulo by zero");
                }
                if (ints) {
                    return Math.floorMod(toLong(a), toLong(b));
                }
                double x = toDouble(a);
                double y = toDouble(b);
                double m = x % y;
                return (m != 0 && (m < 0) != (y < 0)) ? m + y : m;
            case "**":
                if (ints && toLong(b) >= 0) {
                    long r = 1;
                    for (long i = 0; i < toLong(b); i++) {
                        r *= toLong(a);
                    }
                    return r;
                }
                return Math.pow(toDouble(a), toDouble(b));
            default:
                throw new JinjaError("unknown operator " + op);
        }
    }

    static Object negate(Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (isIntLike(v)) {
            return -toLong(v);
        }
        if (v instanceof Double d) {
            return -d;
        }
        throw new JinjaError("bad operand type for unary -: '" + typeName(v) + "'");
    }

    // ---- containers ----

    static boolean contains(Object container, Object item) {
        if (container instanceof String s) {
            if (!(item instanceof String x)) {
                throw new JinjaError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            return s.contains(x);
        }
        if (container instanceof Map<?, ?> m) {
            return m.containsKey(item);
        }
        if (container instanceof Undefined) {
            return false;
        }
        for (Object o : iterate(container)) {
            if (eq(o, item)) {
                return true;
            }
        }
        return false;
    }

    /** The items {@code for} visits: list and tuple items, dict keys, string characters; Undefined is empty. */
    static List<Object> iterate(Object v) {
        if (v instanceof List<?> l) {
            return new ArrayList<>(l);
        }
        if (v instanceof PyTuple t) {
            return t.items();
        }
        if (v instanceof Map<?, ?> m) {
            return new ArrayList<>(m.keySet());
        }
        if (v instanceof String s) {
            List<Object> r = new ArrayList<>();
            s.codePoints().forEach(c -> r.add(new String(Character.toChars(c))));
            return r;
        }
        if (v instanceof Undefined) {
            return List.of();
        }
        if (v instanceof Iterable<?> it) {
            List<Object> r = new ArrayList<>();
            Iterator<?> i = it.iterator();
            while (i.hasNext()) {
                r.add(i.next());
            }
            return r;
        }
        throw new JinjaError("'" + typeName(v) + "' object is not iterable");
    }

    static long len(Object v) {
        if (v instanceof String s) {
            return s.codePointCount(0, s.length());
        }
        if (v instanceof List<?> l) {
            return l.size();
        }
        if (v instanceof PyTuple t) {
            return t.items().size();
        }
        if (v instanceof Map<?, ?> m) {
            return m.size();
        }
        if (v instanceof Undefined) {
            return 0;
        }
        throw new JinjaError("object of type '" + typeName(v) + "' has no len()");
    }

    private static List<?> sequence(Object v) {
        if (v instanceof List<?> l) {
            return l;
        }
        if (v instanceof PyTuple t) {
            return t.items();
        }
        return null;
    }

    /** {@code obj[key]} as Jinja2's sandbox does it: item first, then attribute, else Undefined. */
    static Object getItem(Object obj, Object key) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (obj instanceof Map<?, ?> m) {
            if (m.containsKey(key)) {
                return m.get(key);
            }
            if (key instanceof String s) {
                Object method = PyMethods.attribute(obj, s);
                if (method != null) {
                    return method;
                }
            }
            return new Undefined("'dict object' has no attribute " + strRepr(str(key)));
        }
        List<?> seq = sequence(obj);
        if ((seq != null || obj instanceof String) && isIntLike(key)) {
            long n = seq != null ? seq.size() : len(obj);
            long i = toLong(key);
            if (i < 0) {
                i += n;
            }
            if (i < 0 || i >= n) {
                return new Undefined(typeName(obj) + " object has no element " + toLong(key));
            }
            if (seq != null) {
                return seq.get((int) i);
            }
            String s = (String) obj;
            int off = s.offsetByCodePoints(0, (int) i);
            return new String(Character.toChars(s.codePointAt(off)));
        }
        if (key instanceof String s) {
            return getAttr(obj, s);
        }
        return new Undefined("'" + typeName(obj) + " object' has no attribute " + strRepr(str(key)));
    }

    /** {@code obj.name}: attribute (methods, loop and namespace fields) first, then item, else Undefined. */
    static Object getAttr(Object obj, String name) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (obj instanceof Namespace ns) {
            return ns.attrs.containsKey(name)
                    ? ns.attrs.get(name)
                    : new Undefined("'Namespace object' has no attribute '" + name + "'");
        }
        if (obj instanceof LoopContext loop) {
            return loop.attribute(name);
        }
        Object method = PyMethods.attribute(obj, name);
        if (method != null) {
            return method;
        }
        if (obj instanceof Map<?, ?> m) {
            return m.containsKey(name) ? m.get(name) : new Undefined("'dict object' has no attribute '" + name + "'");
        }
        return new Undefined("'" + typeName(obj) + " object' has no attribute '" + name + "'");
    }

    /** Python slicing {@code obj[start:stop:step]} of a list, tuple or string. */
    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        List<Object> items;
        if (obj instanceof String s) {
            items = iterate(s);
        } else if (sequence(obj) != null) {
            items = new ArrayList<>(sequence(obj));
        } else {
            throw new JinjaError("'" + typeName(obj) + "' object is not subscriptable");
        }
        int n = items.size();
        long st = step == null ? 1 : toLong(step);
        if (st == 0) {
            throw new JinjaError("slice step cannot be zero");
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(toLong(start), n, 0, n);
            hi = stop == null ? n : clamp(toLong(stop), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(toLong(start), n, -1, n - 1);
            hi = stop == null ? -1 : clamp(toLong(stop), n, -1, n - 1);
        }
        List<Object> r = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            r.add(items.get((int) i));
        }
        if (obj instanceof String) {
            StringBuilder b = new StringBuilder();
            r.forEach(b::append);
            return b.toString();
        }
        return obj instanceof PyTuple ? new PyTuple(r) : r;
    }

    private static long clamp(long i, int n, long min, long max) {
        if (i < 0) {
            i += n;
        }
        return Math.max(min, Math.min(max, i));
    }
}
