package dev.rectify.autodiff;

import dev.rectify.core.InvalidArgumentException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The shape of a tensor of known rank: one {@link Dim} per axis. A tensor of unknown rank has no {@code Shape}
 * (an empty {@code Optional} where one is asked for).
 */
public record Shape(List<Dim> dims) {
    public Shape {
        dims = List.copyOf(dims);
    }

    /** A shape of known sizes. */
    public static Shape of(long... sizes) {
        List<Dim> d = new ArrayList<>(sizes.length);
        for (long s : sizes) {
            d.add(Dim.of(s));
        }
        return new Shape(d);
    }

    public static Shape of(Dim... dims) {
        return new Shape(Arrays.asList(dims));
    }

    /** A scalar (rank 0). */
    public static Shape scalar() {
        return new Shape(List.of());
    }

    /** Rank {@code rank} with every dimension unknown. */
    public static Shape unknownDims(int rank) {
        return new Shape(Collections.nCopies(rank, Dim.unknown()));
    }

    public int rank() {
        return dims.size();
    }

    /** Dimension {@code axis}; a negative axis counts from the end. */
    public Dim dim(int axis) {
        return dims.get(axis(axis));
    }

    /** {@code axis} made non-negative; an error when it is outside [-rank, rank). */
    public int axis(long axis) {
        long a = axis < 0 ? axis + rank() : axis;
        if (a < 0 || a >= rank()) {
            throw new InvalidArgumentException(
                    "axis " + axis + " is out of range for rank " + rank() + " shape " + this);
        }
        return (int) a;
    }

    /** The sizes, when every dimension is known. */
    public Optional<long[]> sizes() {
        long[] out = new long[dims.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(dims.get(i) instanceof Dim.Known k)) {
                return Optional.empty();
            }
            out[i] = k.size();
        }
        return Optional.of(out);
    }

    /** How many dimensions are known sizes or symbolic names. */
    public int informativeDims() {
        return (int) dims.stream().filter(d -> !(d instanceof Dim.Unknown)).count();
    }

    /** This shape with dimension {@code axis} replaced. */
    public Shape with(int axis, Dim d) {
        List<Dim> l = new ArrayList<>(dims);
        l.set(axis(axis), d);
        return new Shape(l);
    }

    /** Dimensions [from, to). */
    public Shape sub(int from, int to) {
        return new Shape(dims.subList(from, to));
    }

    /** This shape followed by {@code tail}'s dimensions. */
    public Shape concat(Shape tail) {
        List<Dim> l = new ArrayList<>(dims);
        l.addAll(tail.dims);
        return new Shape(l);
    }

    /**
     * numpy broadcasting, dimension by dimension: a known size other than 1 wins, then a symbolic name shared by
     * every input that has the axis; unknown where it cannot be decided.
     */
    public static Shape broadcast(List<Shape> shapes) {
        int r = 0;
        for (Shape s : shapes) {
            r = Math.max(r, s.rank());
        }
        List<Dim> out = new ArrayList<>(r);
        for (int k = 0; k < r; k++) {
            Long num = null;
            String sym = null;
            boolean unknown = false;
            boolean symConflict = false;
            for (Shape s : shapes) {
                int j = k - (r - s.rank());
                if (j < 0) {
                    continue;
                }
                Dim d = s.dims.get(j);
                if (d instanceof Dim.Unknown) {
                    unknown = true;
                } else if (d instanceof Dim.Known kd) {
                    if (kd.size() != 1 && num == null) {
                        num = kd.size();
                    }
                } else if (sym == null) {
                    sym = ((Dim.Symbolic) d).name();
                } else if (!sym.equals(((Dim.Symbolic) d).name())) {
                    symConflict = true;
                }
            }
            if (num != null) {
                out.add(Dim.of(num));
            } else if (sym != null) {
                out.add(unknown || symConflict ? Dim.unknown() : Dim.symbolic(sym));
            } else {
                out.add(unknown ? Dim.unknown() : Dim.of(1));
            }
        }
        return new Shape(out);
    }

    @Override
    public String toString() {
        return dims.toString();
    }
}
