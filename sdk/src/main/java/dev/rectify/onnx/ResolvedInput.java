package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.Optional;

/**
 * A node parameter that is an attribute in older opsets and an input in newer ones (axes, split, pads...),
 * resolved: {@link Kind#ABSENT} (not given: the op's default applies), {@link Kind#CONSTANT} (known values, from
 * the attribute or a constant input), or {@link Kind#DYNAMIC} (an input computed at run time).
 */
public final class ResolvedInput {
    /** How the value is known. */
    public enum Kind {
        ABSENT,
        CONSTANT,
        DYNAMIC
    }

    private final Kind kind;
    private final String what;
    private final String tensorName;
    private final long[] longs;
    private final float[] floats;
    private final TensorProto tensor;

    private ResolvedInput(Kind kind, String what, String tensorName, long[] longs, float[] floats, TensorProto tensor) {
        this.kind = kind;
        this.what = what;
        this.tensorName = tensorName;
        this.longs = longs;
        this.floats = floats;
        this.tensor = tensor;
    }

    static ResolvedInput absent(String what) {
        return new ResolvedInput(Kind.ABSENT, what, null, null, null, null);
    }

    static ResolvedInput dynamic(String what, String tensorName) {
        return new ResolvedInput(Kind.DYNAMIC, what, tensorName, null, null, null);
    }

    static ResolvedInput ofInts(String what, long[] values) {
        return new ResolvedInput(Kind.CONSTANT, what, null, values, null, null);
    }

    static ResolvedInput ofFloats(String what, float[] values) {
        return new ResolvedInput(Kind.CONSTANT, what, null, null, values, null);
    }

    static ResolvedInput ofTensor(String what, String tensorName, TensorProto t) {
        return new ResolvedInput(Kind.CONSTANT, what, tensorName, null, null, t);
    }

    public Kind kind() {
        return kind;
    }

    public boolean isAbsent() {
        return kind == Kind.ABSENT;
    }

    public boolean isConstant() {
        return kind == Kind.CONSTANT;
    }

    public boolean isDynamic() {
        return kind == Kind.DYNAMIC;
    }

    /** Whether the value came from an attribute (older opsets) rather than an input. */
    public boolean fromAttribute() {
        return kind == Kind.CONSTANT && tensor == null;
    }

    /** The input tensor's name, when the value comes from an input. */
    public Optional<String> tensorName() {
        return Optional.ofNullable(tensorName);
    }

    /** The constant input tensor, when the value is a constant input. */
    public Optional<TensorProto> tensor() {
        return Optional.ofNullable(tensor);
    }

    /** The constant values as longs; an {@link InvalidGraphException} unless {@link #isConstant()}. */
    public long[] longs() {
        requireConstant();
        if (longs != null) {
            return longs.clone();
        }
        if (floats != null) {
            throw new InvalidGraphException(what + " is a float value, not integers");
        }
        return Tensors.toLongArray(tensor);
    }

    /** The constant values as floats; an {@link InvalidGraphException} unless {@link #isConstant()}. */
    public float[] floats() {
        requireConstant();
        if (floats != null) {
            return floats.clone();
        }
        if (longs != null) {
            float[] f = new float[longs.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = longs[i];
            }
            return f;
        }
        return Tensors.toFloatArray(tensor);
    }

    private void requireConstant() {
        if (kind != Kind.CONSTANT) {
            throw new InvalidGraphException(what + " is "
                    + (kind == Kind.ABSENT ? "absent" : "dynamic (computed at run time from '" + tensorName + "')")
                    + ", not a constant");
        }
    }

    /** What this is, e.g. "node 'n' (Squeeze) axes". */
    public String describe() {
        return what;
    }

    @Override
    public String toString() {
        return what + ": " + kind + (tensorName == null ? "" : " '" + tensorName + "'");
    }
}
