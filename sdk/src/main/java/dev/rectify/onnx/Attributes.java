package dev.rectify.onnx;

import com.google.protobuf.ByteString;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto.AttributeType;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Making attributes, and reading them from a {@link Node} with defaults. Reads check the attribute's type and
 * throw {@link InvalidGraphException} naming the node and attribute when it is missing or of another type.
 */
public final class Attributes {
    private Attributes() {}

    // ---- factories ----

    public static AttributeProto of(String name, long value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeType.INT)
                .setI(value)
                .build();
    }

    public static AttributeProto of(String name, float value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeType.FLOAT)
                .setF(value)
                .build();
    }

    public static AttributeProto of(String name, String value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeType.STRING)
                .setS(ByteString.copyFromUtf8(value))
                .build();
    }

    public static AttributeProto of(String name, TensorProto value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeType.TENSOR)
                .setT(value)
                .build();
    }

    public static AttributeProto of(String name, GraphProto value) {
        return AttributeProto.newBuilder()
                .setName(name)
                .setType(AttributeType.GRAPH)
                .setG(value)
                .build();
    }

    public static AttributeProto ints(String name, long... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.INTS);
        for (long v : values) {
            b.addInts(v);
        }
        return b.build();
    }

    public static AttributeProto floats(String name, float... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.FLOATS);
        for (float v : values) {
            b.addFloats(v);
        }
        return b.build();
    }

    public static AttributeProto strings(String name, String... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeType.STRINGS);
        for (String v : values) {
            b.addStrings(ByteString.copyFromUtf8(v));
        }
        return b.build();
    }

    // ---- reading ----

    /** The type of {@code a}; for old models without the type field, inferred from the field that is set. */
    public static AttributeType typeOf(AttributeProto a) {
        if (a.hasType() && a.getType() != AttributeType.UNDEFINED) {
            return a.getType();
        }
        if (a.hasF()) return AttributeType.FLOAT;
        if (a.hasI()) return AttributeType.INT;
        if (a.hasS()) return AttributeType.STRING;
        if (a.hasT()) return AttributeType.TENSOR;
        if (a.hasG()) return AttributeType.GRAPH;
        if (a.hasSparseTensor()) return AttributeType.SPARSE_TENSOR;
        if (a.hasTp()) return AttributeType.TYPE_PROTO;
        if (a.getFloatsCount() > 0) return AttributeType.FLOATS;
        if (a.getIntsCount() > 0) return AttributeType.INTS;
        if (a.getStringsCount() > 0) return AttributeType.STRINGS;
        if (a.getTensorsCount() > 0) return AttributeType.TENSORS;
        if (a.getGraphsCount() > 0) return AttributeType.GRAPHS;
        return AttributeType.UNDEFINED;
    }

    public static long getInt(Node node, String name, long defaultValue) {
        return find(node, name, AttributeType.INT).map(AttributeProto::getI).orElse(defaultValue);
    }

    public static long requireInt(Node node, String name) {
        return require(node, name, AttributeType.INT).getI();
    }

    public static float getFloat(Node node, String name, float defaultValue) {
        return find(node, name, AttributeType.FLOAT).map(AttributeProto::getF).orElse(defaultValue);
    }

    public static float requireFloat(Node node, String name) {
        return require(node, name, AttributeType.FLOAT).getF();
    }

    public static String getString(Node node, String name, String defaultValue) {
        return find(node, name, AttributeType.STRING)
                .map(a -> a.getS().toStringUtf8())
                .orElse(defaultValue);
    }

    public static String requireString(Node node, String name) {
        return require(node, name, AttributeType.STRING).getS().toStringUtf8();
    }

    /** INTS as an array; {@code defaultValue} (may be null) when absent. */
    public static long[] getInts(Node node, String name, long[] defaultValue) {
        return find(node, name, AttributeType.INTS).map(Attributes::longs).orElse(defaultValue);
    }

    public static long[] requireInts(Node node, String name) {
        return longs(require(node, name, AttributeType.INTS));
    }

    /** FLOATS as an array; {@code defaultValue} (may be null) when absent. */
    public static float[] getFloats(Node node, String name, float[] defaultValue) {
        return find(node, name, AttributeType.FLOATS).map(Attributes::floats).orElse(defaultValue);
    }

    public static float[] requireFloats(Node node, String name) {
        return floats(require(node, name, AttributeType.FLOATS));
    }

    public static List<String> getStrings(Node node, String name, List<String> defaultValue) {
        return find(node, name, AttributeType.STRINGS).map(Attributes::strings).orElse(defaultValue);
    }

    public static Optional<TensorProto> getTensor(Node node, String name) {
        return find(node, name, AttributeType.TENSOR).map(AttributeProto::getT);
    }

    public static TensorProto requireTensor(Node node, String name) {
        return require(node, name, AttributeType.TENSOR).getT();
    }

    public static Optional<GraphProto> getGraph(Node node, String name) {
        return find(node, name, AttributeType.GRAPH).map(AttributeProto::getG);
    }

    public static GraphProto requireGraph(Node node, String name) {
        return require(node, name, AttributeType.GRAPH).getG();
    }

    /** The attribute if present, after checking it has type {@code type}. */
    public static Optional<AttributeProto> find(Node node, String name, AttributeType type) {
        Optional<AttributeProto> a = node.attribute(name);
        a.ifPresent(attr -> check(node, attr, type));
        return a;
    }

    /** The attribute, which must be present and of type {@code type}. */
    public static AttributeProto require(Node node, String name, AttributeType type) {
        return find(node, name, type)
                .orElseThrow(() -> new InvalidGraphException(
                        node.describe() + ": required attribute '" + name + "' (" + type + ") is missing"));
    }

    private static void check(Node node, AttributeProto a, AttributeType type) {
        if (!a.getRefAttrName().isEmpty()) {
            throw new InvalidGraphException(
                    node.describe() + ": attribute '" + a.getName() + "' refers to the enclosing function's attribute '"
                            + a.getRefAttrName() + "' and has no value here");
        }
        AttributeType actual = typeOf(a);
        if (actual != type) {
            throw new InvalidGraphException(
                    node.describe() + ": attribute '" + a.getName() + "' is " + actual + ", expected " + type);
        }
    }

    static long[] longs(AttributeProto a) {
        return a.getIntsList().stream().mapToLong(Long::longValue).toArray();
    }

    static float[] floats(AttributeProto a) {
        float[] out = new float[a.getFloatsCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.getFloats(i);
        }
        return out;
    }

    private static List<String> strings(AttributeProto a) {
        List<String> out = new ArrayList<>(a.getStringsCount());
        for (ByteString s : a.getStringsList()) {
            out.add(s.toStringUtf8());
        }
        return out;
    }
}
