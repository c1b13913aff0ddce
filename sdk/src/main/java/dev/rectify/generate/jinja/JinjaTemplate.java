package dev.rectify.generate.jinja;

import dev.rectify.generate.jinja.Ast.Node;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A Jinja template compiled and rendered the way Hugging Face transformers renders chat templates: Jinja2's
 * {@code ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)} with the loopcontrols extension,
 * the globals {@code raise_exception(msg)} and {@code strftime_now(fmt)}, and transformers' {@code tojson}.
 *
 * <p>Rectify implements the Jinja subset chat templates use instead of using a general Java template engine,
 * because byte-exact output needs Python's semantics throughout (str() of values, string methods, {@code is}
 * tests, scoping of {@code set} in loops, whitespace control); see {@code docs/chat-templates.md}.
 */
public final class JinjaTemplate {
    private final List<Node> body;

    private JinjaTemplate(List<Node> body) {
        this.body = body;
    }

    /** Parses {@code source}; a syntax error is a {@link TemplateSyntaxException} naming the line. */
    public static JinjaTemplate compile(String source) {
        return new JinjaTemplate(Parser.parse(source));
    }

    /**
     * Renders with {@code variables} (Java maps, lists, strings, numbers, booleans and nulls; converted to their
     * Python counterparts) and {@code now} as the clock of {@code strftime_now}.
     *
     * @throws TemplateRenderException when the template raises or an expression fails
     */
    public String render(Map<String, ?> variables, Supplier<LocalDateTime> now) {
        Map<String, Object> globals = new HashMap<>();
        globals.put("raise_exception", (PyCallable) (args, kw) -> {
            throw TemplateRenderException.raised(args.isEmpty() ? "" : Py.str(args.get(0)));
        });
        globals.put("strftime_now", (PyCallable) (args, kw) -> {
            if (args.size() != 1) {
                throw new JinjaError("strftime_now() takes exactly one argument (the format)");
            }
            return Strftime.format(now.get(), Py.str(args.get(0)));
        });
        globals.put("range", (PyCallable) JinjaTemplate::range);
        globals.put("dict", (PyCallable) Builtins::dict);
        globals.put("namespace", (PyCallable) (args, kw) -> {
            Namespace ns = new Namespace();
            if (!args.isEmpty() && args.get(0) instanceof Map<?, ?> m) {
                m.forEach((k, v) -> ns.attrs.put(Py.str(k), v));
            }
            ns.attrs.putAll(kw);
            return ns;
        });
        for (Map.Entry<String, ?> e : variables.entrySet()) {
            globals.put(e.getKey(), toPython(e.getValue()));
        }
        return new Renderer(globals).render(body);
    }

    private static Object range(List<Object> args, Map<String, Object> kw) {
        long start = 0;
        long stop;
        long step = 1;
        if (args.size() == 1) {
            stop = Py.toLong(args.get(0));
        } else if (args.size() == 2 || args.size() == 3) {
            start = Py.toLong(args.get(0));
            stop = Py.toLong(args.get(1));
            if (args.size() == 3) {
                step = Py.toLong(args.get(2));
            }
        } else {
            throw new JinjaError("range expected 1 to 3 arguments, got " + args.size());
        }
        if (step == 0) {
            throw new JinjaError("range() arg 3 must not be zero");
        }
        List<Object> out = new ArrayList<>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            if (out.size() > 100_000) {
                throw new JinjaError("range too big");
            }
            out.add(i);
        }
        return out;
    }

    /** Java values to the interpreter's Python model (Integer to int, Float to float, arrays to lists). */
    static Object toPython(Object v) {
        if (v == null || v instanceof String || v instanceof Boolean || v instanceof Long || v instanceof Double) {
            return v;
        }
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof Float f) {
            return Double.parseDouble(Float.toString(f));
        }
        if (v instanceof BigDecimal || v instanceof BigInteger) {
            Number n = (Number) v;
            return v instanceof BigInteger ? (Object) n.longValue() : (Object) n.doubleValue();
        }
        if (v instanceof CharSequence || v instanceof Character) {
            return v.toString();
        }
        if (v instanceof Map<?, ?> m) {
            Map<Object, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(toPython(k), toPython(x)));
            return out;
        }
        if (v instanceof Iterable<?> it) {
            List<Object> out = new ArrayList<>();
            it.forEach(x -> out.add(toPython(x)));
            return out;
        }
        if (v instanceof Object[] arr) {
            List<Object> out = new ArrayList<>();
            for (Object x : arr) {
                out.add(toPython(x));
            }
            return out;
        }
        throw new IllegalArgumentException(
                "a chat template variable cannot be a " + v.getClass().getName());
    }
}
