package dev.rectify.autodiff;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What shape inference knows of the values of small integer tensors computed from shapes ({@code Shape},
 * {@code Gather}, {@code Concat}, arithmetic...), element by element, so that {@code Reshape(x, Concat(
 * Gather(Shape(x), 0), Gather(Shape(x), 1), [8, 64]))} keeps x's symbolic batch and sequence dims instead of losing
 * its rank. Exporters write every attention reshape this way; without this the backward of every elementwise op and
 * matrix product after one falls back to run-time broadcast reductions (a copy of each gradient per op).
 * Comparison results are the values 0 and 1. Every rule here only states what the op will compute at run time.
 */
final class DimValues {
    private DimValues() {}

    /** One element: a number (any sign), a symbolic dimension, or unknown (both null). */
    record Element(Long number, Dim.Symbolic symbol) {
        static final Element UNKNOWN = new Element(null, null);

        static Element of(long n) {
            return new Element(n, null);
        }

        static Element of(Dim d) {
            return d instanceof Dim.Known k
                    ? of(k.size())
                    : d instanceof Dim.Symbolic s ? new Element(null, s) : UNKNOWN;
        }

        boolean is(long n) {
            return number != null && number == n;
        }

        /** As a dimension: negative numbers and unknowns are unknown. */
        Dim toDim() {
            return number != null
                    ? (number >= 0 ? Dim.of(number) : Dim.unknown())
                    : symbol != null ? symbol : Dim.unknown();
        }

        boolean provablyEquals(Element o) {
            return number != null ? number.equals(o.number) : symbol != null && symbol.equals(o.symbol);
        }
    }

    static List<Element> ofDims(List<Dim> dims) {
        return dims.stream().map(Element::of).toList();
    }

    static List<Element> ofNumbers(long[] numbers) {
        List<Element> out = new ArrayList<>(numbers.length);
        for (long n : numbers) {
            out.add(Element.of(n));
        }
        return out;
    }

    static List<Dim> toDims(List<Element> value) {
        return value.stream().map(Element::toDim).toList();
    }

    /** The numbers, when every element is one. */
    static Optional<long[]> numbers(List<Element> value) {
        long[] out = new long[value.size()];
        for (int i = 0; i < out.length; i++) {
            if (value.get(i).number() == null) {
                return Optional.empty();
            }
            out[i] = value.get(i).number();
        }
        return Optional.of(out);
    }

    /** An elementwise binary op on two values (numpy broadcasting of a one-element side); empty when undecided. */
    static Optional<List<Element>> binary(String op, List<Element> a, List<Element> b) {
        int n = Math.max(a.size(), b.size());
        if (a.size() != n && a.size() != 1 || b.size() != n && b.size() != 1) {
            return Optional.empty();
        }
        List<Element> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(binary(op, a.get(a.size() == 1 ? 0 : i), b.get(b.size() == 1 ? 0 : i)));
        }
        return Optional.of(out);
    }

    private static Element binary(String op, Element x, Element y) {
        if (x.number() != null && y.number() != null) {
            long a = x.number();
            long b = y.number();
            return switch (op) {
                case "Add" -> Element.of(a + b);
                case "Sub" -> Element.of(a - b);
                case "Mul" -> Element.of(a * b);
                // ONNX integer Div truncates toward zero, as Java's does
                case "Div" -> b == 0 ? Element.UNKNOWN : Element.of(a / b);
                case "Equal" -> Element.of(a == b ? 1 : 0);
                case "Max" -> Element.of(Math.max(a, b));
                case "Min" -> Element.of(Math.min(a, b));
                default -> Element.UNKNOWN;
            };
        }
        return switch (op) {
            case "Mul" -> x.is(1) ? y : y.is(1) ? x : Element.UNKNOWN;
            case "Div" -> y.is(1) ? x : Element.UNKNOWN;
            case "Add" -> y.is(0) ? x : x.is(0) ? y : Element.UNKNOWN;
            case "Sub" -> y.is(0) ? x : Element.UNKNOWN;
            // a dimension is never negative, so a symbolic one differs from every negative number
            case "Equal" ->
                isNegative(x) && y.symbol() != null || isNegative(y) && x.symbol() != null
                        ? Element.of(0)
                        : x.provablyEquals(y) ? Element.of(1) : Element.UNKNOWN;
            default -> Element.UNKNOWN;
        };
    }

    /** Where(cond, x, y) element by element, when every condition is a known number. */
    static Optional<List<Element>> where(List<Element> cond, List<Element> x, List<Element> y) {
        int n = Math.max(cond.size(), Math.max(x.size(), y.size()));
        for (List<Element> l : List.of(cond, x, y)) {
            if (l.size() != n && l.size() != 1) {
                return Optional.empty();
            }
        }
        List<Element> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Element c = cond.get(cond.size() == 1 ? 0 : i);
            if (c.number() == null) {
                return Optional.empty();
            }
            List<Element> pick = c.number() != 0 ? x : y;
            out.add(pick.get(pick.size() == 1 ? 0 : i));
        }
        return Optional.of(out);
    }

    /**
     * The shape Reshape produces from input {@code in} (null when its rank is unknown) and {@code target}: 0 copies
     * the input's dim (unless allowzero), -1 is solved when the known sizes and symbolic names of the input and of
     * the other target dims cancel out.
     */
    static Shape reshape(Shape in, List<Element> target, boolean allowZero) {
        List<Dim> out = new ArrayList<>(target.size());
        int minus = -1;
        for (int i = 0; i < target.size(); i++) {
            Element e = target.get(i);
            if (e.is(0) && !allowZero) {
                out.add(in != null && i < in.rank() ? in.dim(i) : Dim.unknown());
            } else if (e.is(-1)) {
                minus = i;
                out.add(Dim.unknown());
            } else {
                out.add(e.toDim());
            }
        }
        if (minus >= 0 && in != null) {
            List<Dim> others = new ArrayList<>(out);
            others.remove(minus);
            out.set(minus, quotient(in.dims(), others));
        }
        return new Shape(out);
    }

    /** The size that makes the product of {@code others} equal that of {@code whole}, when it can be decided. */
    private static Dim quotient(List<Dim> whole, List<Dim> others) {
        long num = 1;
        long den = 1;
        Map<String, Integer> symbols = new HashMap<>();
        for (int pass = 0; pass < 2; pass++) {
            for (Dim d : pass == 0 ? whole : others) {
                if (d instanceof Dim.Known k) {
                    if (pass == 0) {
                        num *= k.size();
                    } else {
                        den *= k.size();
                    }
                } else if (d instanceof Dim.Symbolic s) {
                    symbols.merge(s.name(), pass == 0 ? 1 : -1, Integer::sum);
                } else {
                    return Dim.unknown();
                }
            }
        }
        List<String> left = new ArrayList<>();
        for (Map.Entry<String, Integer> e : symbols.entrySet()) {
            if (e.getValue() < 0 || e.getValue() > 1) {
                return Dim.unknown();
            }
            if (e.getValue() == 1) {
                left.add(e.getKey());
            }
        }
        if (den == 0 || num % den != 0) {
            return Dim.unknown();
        }
        long q = num / den;
        if (left.isEmpty()) {
            return Dim.of(q);
        }
        return left.size() == 1 && q == 1 ? Dim.symbolic(left.get(0)) : Dim.unknown();
    }

    private static boolean isNegative(Element e) {
        return e.number() != null && e.number() < 0;
    }
}
