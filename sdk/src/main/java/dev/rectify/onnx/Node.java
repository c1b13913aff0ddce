package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.NodeProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An editable ONNX node: op type, domain, name, inputs, outputs and attributes. Setters are fluent.
 * Fields this class does not model (doc_string, overload, metadata, unknown fields) are kept from the
 * {@link NodeProto} it was made from. Subgraph attributes (If/Loop/Scan bodies) are kept untouched.
 */
public final class Node {
    private String opType;
    private String domain = "";
    private String name = "";
    private final List<String> inputs = new ArrayList<>();
    private final List<String> outputs = new ArrayList<>();
    private final LinkedHashMap<String, AttributeProto> attributes = new LinkedHashMap<>();
    private NodeProto extras = NodeProto.getDefaultInstance();

    private Node(String opType) {
        this.opType = opType;
    }

    /** A new node of the default ONNX domain with no inputs, outputs or attributes. */
    public static Node of(String opType) {
        return new Node(opType);
    }

    /** A new node with the given inputs and outputs. */
    public static Node of(String opType, List<String> inputs, List<String> outputs) {
        Node n = new Node(opType);
        n.inputs.addAll(inputs);
        n.outputs.addAll(outputs);
        return n;
    }

    /** An editable copy of {@code p}. */
    public static Node fromProto(NodeProto p) {
        Node n = new Node(p.getOpType());
        n.domain = p.getDomain();
        n.name = p.getName();
        n.inputs.addAll(p.getInputList());
        n.outputs.addAll(p.getOutputList());
        for (AttributeProto a : p.getAttributeList()) {
            n.attributes.put(a.getName(), a);
        }
        n.extras = p.toBuilder()
                .clearInput()
                .clearOutput()
                .clearAttribute()
                .clearName()
                .clearOpType()
                .clearDomain()
                .build();
        return n;
    }

    /** This node as a protobuf message. */
    public NodeProto toProto() {
        NodeProto.Builder b = extras.toBuilder()
                .setOpType(opType)
                .addAllInput(inputs)
                .addAllOutput(outputs)
                .addAllAttribute(attributes.values());
        if (!name.isEmpty()) {
            b.setName(name);
        }
        if (!domain.isEmpty()) {
            b.setDomain(domain);
        }
        return b.build();
    }

    /** A deep copy (attribute values are immutable protos and are shared). */
    public Node copy() {
        Node n = new Node(opType);
        n.domain = domain;
        n.name = name;
        n.inputs.addAll(inputs);
        n.outputs.addAll(outputs);
        n.attributes.putAll(attributes);
        n.extras = extras;
        return n;
    }

    public String opType() {
        return opType;
    }

    public Node opType(String opType) {
        this.opType = opType;
        return this;
    }

    /** The domain; "" is the default ONNX domain. */
    public String domain() {
        return domain;
    }

    /** Sets the domain; "ai.onnx" is stored as "". */
    public Node domain(String domain) {
        this.domain = OnnxModel.isDefaultDomain(domain) ? "" : domain;
        return this;
    }

    /** Whether this node belongs to the default ONNX domain ("" or "ai.onnx"). */
    public boolean isDefaultDomain() {
        return OnnxModel.isDefaultDomain(domain);
    }

    /** The node name, "" when unnamed. */
    public String name() {
        return name;
    }

    public Node name(String name) {
        this.name = name == null ? "" : name;
        return this;
    }

    /** The inputs, live and editable; "" marks an omitted optional input. */
    public List<String> inputs() {
        return inputs;
    }

    /** The outputs, live and editable. */
    public List<String> outputs() {
        return outputs;
    }

    /** Input {@code i}, or "" when absent. */
    public String input(int i) {
        return i < inputs.size() ? inputs.get(i) : "";
    }

    /** Output {@code i}, or "" when absent. */
    public String output(int i) {
        return i < outputs.size() ? outputs.get(i) : "";
    }

    /** Replaces the inputs. */
    public Node inputs(String... names) {
        inputs.clear();
        inputs.addAll(Arrays.asList(names));
        return this;
    }

    /** Replaces the outputs. */
    public Node outputs(String... names) {
        outputs.clear();
        outputs.addAll(Arrays.asList(names));
        return this;
    }

    /** The attributes by name, in order (read-only view). */
    public Map<String, AttributeProto> attributes() {
        return Collections.unmodifiableMap(attributes);
    }

    public Optional<AttributeProto> attribute(String name) {
        return Optional.ofNullable(attributes.get(name));
    }

    public boolean hasAttribute(String name) {
        return attributes.containsKey(name);
    }

    /** Adds or replaces an attribute (keyed by its name). */
    public Node attr(AttributeProto a) {
        attributes.put(a.getName(), a);
        return this;
    }

    public Node attr(String name, long value) {
        return attr(Attributes.of(name, value));
    }

    public Node attr(String name, float value) {
        return attr(Attributes.of(name, value));
    }

    public Node attr(String name, String value) {
        return attr(Attributes.of(name, value));
    }

    public Node attr(String name, TensorProto value) {
        return attr(Attributes.of(name, value));
    }

    public Node attr(String name, GraphProto value) {
        return attr(Attributes.of(name, value));
    }

    public Node attrInts(String name, long... values) {
        return attr(Attributes.ints(name, values));
    }

    public Node attrFloats(String name, float... values) {
        return attr(Attributes.floats(name, values));
    }

    public Node attrStrings(String name, String... values) {
        return attr(Attributes.strings(name, values));
    }

    public Node removeAttribute(String name) {
        attributes.remove(name);
        return this;
    }

    /** The node's doc_string. */
    public String docString() {
        return extras.getDocString();
    }

    public Node docString(String doc) {
        extras = extras.toBuilder().setDocString(doc).build();
        return this;
    }

    /** The subgraphs held in this node's attributes (If branches, Loop/Scan bodies), in attribute order. */
    public List<GraphProto> subgraphs() {
        List<GraphProto> out = new ArrayList<>();
        for (AttributeProto a : attributes.values()) {
            if (a.hasG()) {
                out.add(a.getG());
            }
            out.addAll(a.getGraphsList());
        }
        return out;
    }

    /** Outer-scope tensor names this node's subgraphs read (implicit inputs); empty without subgraphs. */
    public Set<String> implicitInputs() {
        Set<String> out = new LinkedHashSet<>();
        for (GraphProto g : subgraphs()) {
            out.addAll(Subgraphs.outerReferences(g));
        }
        return out;
    }

    /** "node 'name' (OpType)", for messages. */
    public String describe() {
        String op = domain.isEmpty() ? opType : domain + "." + opType;
        if (!name.isEmpty()) {
            return "node '" + name + "' (" + op + ")";
        }
        return "unnamed " + op + " node with outputs " + outputs;
    }

    @Override
    public String toString() {
        return (name.isEmpty() ? "" : name + ": ") + (domain.isEmpty() ? "" : domain + ".") + opType + inputs + " -> "
                + outputs;
    }
}
