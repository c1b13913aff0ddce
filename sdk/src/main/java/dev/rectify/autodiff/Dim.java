package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import java.util.Optional;

/**
 * One dimension of a {@link Shape}: a known size, a symbolic name (ONNX {@code dim_param}, e.g. "batch": equal
 * names are equal sizes), or unknown.
 */
public sealed interface Dim permits Dim.Known, Dim.Symbolic, Dim.Unknown {
    /** A dimension of known size. */
    record Known(long size) implements Dim {
        public Known {
            if (size < 0) {
                throw new InvalidArgumentException("a dimension cannot be negative: " + size);
            }
        }

        @Override
        public String toString() {
            return Long.toString(size);
        }
    }

    /** A dimension known only by name: two equal names are the same size. */
    record Symbolic(String name) implements Dim {
        public Symbolic {
            if (name == null || name.isEmpty()) {
                throw new InvalidArgumentException("a symbolic dimension needs a name");
            }
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A dimension about which nothing is known. */
    enum Unknown implements Dim {
        INSTANCE;

        @Override
        public String toString() {
            return "?";
        }
    }

    static Dim of(long size) {
        return new Known(size);
    }

    static Dim symbolic(String name) {
        return new Symbolic(name);
    }

    static Dim unknown() {
        return Unknown.INSTANCE;
    }

    /** The size when known. */
    default Optional<Long> value() {
        return this instanceof Known k ? Optional.of(k.size()) : Optional.empty();
    }

    /** Whether this is the known size {@code n}. */
    default boolean is(long n) {
        return this instanceof Known k && k.size() == n;
    }

    /** Whether this and {@code other} provably have the same size (same number or same symbolic name). */
    default boolean provablyEquals(Dim other) {
        return !(this instanceof Unknown) && equals(other);
    }
}
