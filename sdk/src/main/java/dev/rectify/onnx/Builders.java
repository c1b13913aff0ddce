package dev.rectify.onnx;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.TensorShapeProto;
import dev.rectify.onnx.proto.OnnxProto.TypeProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;

/**
 * Small factories for types, shapes and value infos. Dims are given as {@code Object...}: a number is a fixed
 * dim, a String a symbolic one ("batch"), {@code null} an unknown one; a single long[] or int[] also works.
 */
public final class Builders {
    private Builders() {}

    /** A shape from dims (see the class comment); no dims is a scalar shape. */
    public static TensorShapeProto shape(Object... dims) {
        TensorShapeProto.Builder b = TensorShapeProto.newBuilder();
        for (Object d : expand(dims)) {
            TensorShapeProto.Dimension.Builder db = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof Number n) {
                if (n instanceof Double || n instanceof Float) {
                    throw new InvalidArgumentException("dimension " + n + " is not an integer");
                }
                db.setDimValue(n.longValue());
            } else if (d instanceof String s) {
                db.setDimParam(s);
            } else if (d != null) {
                throw new InvalidArgumentException("dimension " + d + " is neither a number, a String nor null");
            }
            b.addDim(db);
        }
        return b.build();
    }

    private static Object[] expand(Object[] dims) {
        if (dims == null) {
            return new Object[0];
        }
        if (dims.length == 1 && dims[0] instanceof long[] l) {
            Object[] out = new Object[l.length];
            for (int i = 0; i < l.length; i++) out[i] = l[i];
            return out;
        }
        if (dims.length == 1 && dims[0] instanceof int[] a) {
            Object[] out = new Object[a.length];
            for (int i = 0; i < a.length; i++) out[i] = a[i];
            return out;
        }
        return dims;
    }

    /** A tensor type with a shape (no dims: a scalar). */
    public static TypeProto tensorType(DataType elemType, Object... dims) {
        return TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder()
                        .setElemType(elemType.getNumber())
                        .setShape(shape(dims)))
                .build();
    }

    /** A tensor type whose rank is unknown (no shape). */
    public static TypeProto tensorTypeAnyShape(DataType elemType) {
        return TypeProto.newBuilder()
                .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType.getNumber()))
                .build();
    }

    /** A sequence of {@code elem}. */
    public static TypeProto sequenceType(TypeProto elem) {
        return TypeProto.newBuilder()
                .setSequenceType(TypeProto.Sequence.newBuilder().setElemType(elem))
                .build();
    }

    /** An optional {@code elem}. */
    public static TypeProto optionalType(TypeProto elem) {
        return TypeProto.newBuilder()
                .setOptionalType(TypeProto.Optional.newBuilder().setElemType(elem))
                .build();
    }

    /** A value info of any type. */
    public static ValueInfoProto valueInfo(String name, TypeProto type) {
        return ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }

    /** A tensor value info, e.g. {@code tensor("input_ids", INT64, "batch", "seq")}. */
    public static ValueInfoProto tensor(String name, DataType elemType, Object... dims) {
        return valueInfo(name, tensorType(elemType, dims));
    }

    /** A tensor value info with unknown rank. */
    public static ValueInfoProto tensorAnyShape(String name, DataType elemType) {
        return valueInfo(name, tensorTypeAnyShape(elemType));
    }

    /** A sequence-of-tensors value info. */
    public static ValueInfoProto sequence(String name, DataType elemType, Object... elemDims) {
        return valueInfo(name, sequenceType(tensorType(elemType, elemDims)));
    }

    /** An opset import. */
    public static OperatorSetIdProto opset(String domain, long version) {
        OperatorSetIdProto.Builder b = OperatorSetIdProto.newBuilder().setVersion(version);
        if (!OnnxModel.isDefaultDomain(domain)) {
            b.setDomain(domain);
        } else {
            b.setDomain("");
        }
        return b.build();
    }
}
