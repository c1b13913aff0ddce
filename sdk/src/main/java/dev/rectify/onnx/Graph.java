package dev.rectify.onnx;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.NodeProto;
import dev.rectify.onnx.proto.OnnxProto.SparseTensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * A small editable view of a {@link GraphProto}: ordered inputs, outputs, value infos and {@link Node}s, and
 * initializers by name (in order). Lists returned here are live and editable. Fields not modelled
 * (quantization annotations, metadata, unknown fields) are kept from the source proto by {@link #toProto()}.
 * Lookups scan the graph (O(size)); use {@link #producerIndex()}/{@link #consumerIndex()} for bulk work.
 * <p>Over 400 lines because it is the one editable ONNX graph: nodes, initializers, value infos and their indices,
 * which every edit must keep in step.
 */
public final class Graph {
    private String name;
    private String docString;
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final List<ValueInfoProto> outputs = new ArrayList<>();
    private final List<ValueInfoProto> valueInfos = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final LinkedHashMap<String, TensorProto> initializers = new LinkedHashMap<>();
    private final List<SparseTensorProto> sparseInitializers = new ArrayList<>();
    private final GraphProto extras;
    private final Set<String> reserved = new HashSet<>();
    /** Names in use, rebuilt when the graph's shape stamp changes, so bulk uniqueName calls stay linear. */
    private Set<String> usedCache;

    private long usedStamp = -1;

    private Graph(GraphProto p) {
        this.name = p.getName();
        this.docString = p.getDocString();
        inputs.addAll(p.getInputList());
        outputs.addAll(p.getOutputList());
        valueInfos.addAll(p.getValueInfoList());
        for (NodeProto n : p.getNodeList()) {
            nodes.add(Node.fromProto(n));
        }
        for (TensorProto t : p.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        sparseInitializers.addAll(p.getSparseInitializerList());
        extras = p.toBuilder()
                .clearNode()
                .clearInput()
                .clearOutput()
                .clearValueInfo()
                .clearInitializer()
                .clearSparseInitializer()
                .clearName()
                .clearDocString()
                .build();
    }

    /** An editable view of {@code p} (nodes are copied into {@link Node}s). */
    public static Graph fromProto(GraphProto p) {
        return new Graph(p);
    }

    /** An empty graph. */
    public static Graph empty(String name) {
        return new Graph(GraphProto.newBuilder().setName(name).build());
    }

    /** This graph as a protobuf message. */
    public GraphProto toProto() {
        GraphProto.Builder b = extras.toBuilder();
        for (Node n : nodes) {
            b.addNode(n.toProto());
        }
        if (!name.isEmpty()) {
            b.setName(name);
        }
        if (!docString.isEmpty()) {
            b.setDocString(docString);
        }
        return b.addAllInitializer(initializers.values())
                .addAllSparseInitializer(sparseInitializers)
                .addAllInput(inputs)
                .addAllOutput(outputs)
                .addAllValueInfo(valueInfos)
                .build();
    }

    public String name() {
        return name;
    }

    public Graph name(String name) {
        this.name = name == null ? "" : name;
        return this;
    }

    public String docString() {
        return docString;
    }

    public Graph docString(String doc) {
        this.docString = doc == null ? "" : doc;
        return this;
    }

    // ---- live lists ----

    /** Graph inputs, live. */
    public List<ValueInfoProto> inputs() {
        return inputs;
    }

    /** Graph outputs, live. */
    public List<ValueInfoProto> outputs() {
        return outputs;
    }

    /** Intermediate value infos, live. */
    public List<ValueInfoProto> valueInfos() {
        return valueInfos;
    }

    /** Nodes in order, live. */
    public List<Node> nodes() {
        return nodes;
    }

    /** Sparse initializers, live. */
    public List<SparseTensorProto> sparseInitializers() {
        return sparseInitializers;
    }

    /** Initializers by name, in order (read-only view; edit with the methods below). */
    public Map<String, TensorProto> initializers() {
        return Collections.unmodifiableMap(initializers);
    }

    // ---- lookups ----

    public Optional<TensorProto> initializer(String name) {
        return Optional.ofNullable(initializers.get(name));
    }

    public boolean isInitializer(String name) {
        return initializers.containsKey(name);
    }

    public Optional<ValueInfoProto> input(String name) {
        return find(inputs, name);
    }

    public Optional<ValueInfoProto> output(String name) {
        return find(outputs, name);
    }

    public Optional<ValueInfoProto> valueInfo(String name) {
        return find(valueInfos, name);
    }

    public boolean isInput(String name) {
        return input(name).isPresent();
    }

    public boolean isOutput(String name) {
        return output(name).isPresent();
    }

    /** Names of the graph inputs, in order. */
    public List<String> inputNames() {
        return inputs.stream().map(ValueInfoProto::getName).toList();
    }

    /** Names of the graph outputs, in order. */
    public List<String> outputNames() {
        return outputs.stream().map(ValueInfoProto::getName).toList();
    }

    private static Optional<ValueInfoProto> find(List<ValueInfoProto> list, String name) {
        for (ValueInfoProto v : list) {
            if (v.getName().equals(name)) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    /** The node named {@code nodeName}. */
    public Optional<Node> node(String nodeName) {
        for (Node n : nodes) {
            if (n.name().equals(nodeName)) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }

    /** The node producing {@code tensor}, if a node of this graph does. */
    public Optional<Node> producer(String tensor) {
        if (tensor.isEmpty()) {
            return Optional.empty();
        }
        for (Node n : nodes) {
            if (n.outputs().contains(tensor)) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }

    /** The nodes taking {@code tensor} as a direct input, in node order (each once). */
    public List<Node> consumers(String tensor) {
        List<Node> out = new ArrayList<>();
        if (tensor.isEmpty()) {
            return out;
        }
        for (Node n : nodes) {
            if (n.inputs().contains(tensor)) {
                out.add(n);
            }
        }
        return out;
    }

    /** A snapshot map from tensor name to producing node. */
    public Map<String, Node> producerIndex() {
        Map<String, Node> m = new HashMap<>();
        for (Node n : nodes) {
            for (String o : n.outputs()) {
                if (!o.isEmpty()) {
                    m.put(o, n);
                }
            }
        }
        return m;
    }

    /** A snapshot map from tensor name to the nodes reading it directly, in node order. */
    public Map<String, List<Node>> consumerIndex() {
        Map<String, List<Node>> m = new HashMap<>();
        for (Node n : nodes) {
            for (String in : new HashSet<>(n.inputs())) {
                if (!in.isEmpty()) {
                    m.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
                }
            }
        }
        return m;
    }

    /**
     * The constant value of {@code tensor}, if it is one: an initializer that is not also a graph input (one that
     * is can be overridden at run time), or the output of a Constant node with a value/value_float(s)/value_int(s)
     * attribute.
     */
    public Optional<TensorProto> constant(String tensor) {
        TensorProto init = initializers.get(tensor);
        if (init != null) {
            return isInput(tensor) ? Optional.empty() : Optional.of(init);
        }
        Optional<Node> p = producer(tensor);
        if (p.isEmpty() || !p.get().opType().equals("Constant") || !p.get().isDefaultDomain()) {
            return Optional.empty();
        }
        Node c = p.get();
        for (AttributeProto a : c.attributes().values()) {
            switch (a.getName()) {
                case "value":
                    return Optional.of(a.getT());
                case "value_float":
                    return Optional.of(Tensors.scalar(tensor, a.getF()));
                case "value_int":
                    return Optional.of(Tensors.scalar(tensor, a.getI()));
                case "value_floats":
                    return Optional.of(Tensors.ofFloats(tensor, Attributes.floats(a), a.getFloatsCount()));
                case "value_ints":
                    return Optional.of(Tensors.ofLongs(tensor, Attributes.longs(a), a.getIntsCount()));
                default:
                    break;
            }
        }
        return Optional.empty();
    }

    // ---- edits ----

    /** Appends {@code node}; returns it. */
    public Node addNode(Node node) {
        boolean cached = cacheValid();
        nodes.add(node);
        noteAdded(node, cached);
        return node;
    }

    /** Inserts {@code node} at {@code index}; returns it. */
    public Node insertNode(int index, Node node) {
        boolean cached = cacheValid();
        nodes.add(index, node);
        noteAdded(node, cached);
        return node;
    }

    private boolean cacheValid() {
        return usedCache != null && usedStamp == stamp();
    }

    private void noteAdded(boolean cacheWasValid, String name) {
        if (cacheWasValid) {
            usedCache.add(name);
            usedStamp = stamp();
        }
    }

    /** Keeps the used-name cache valid across additions made through this class, so bulk edits stay linear. */
    private void noteAdded(Node node, boolean cacheWasValid) {
        if (cacheWasValid) {
            usedCache.add(node.name());
            usedCache.addAll(node.inputs());
            usedCache.addAll(node.outputs());
            for (GraphProto g : node.subgraphs()) {
                Subgraphs.allNames(g, usedCache);
            }
            usedStamp = stamp();
        }
    }

    /** Removes {@code node} (by identity); an error if it is not in this graph. */
    public Graph removeNode(Node node) {
        nodes.remove(indexOf(node));
        return this;
    }

    /** Replaces {@code old} (by identity) with {@code replacements}, in its position. */
    public Graph replaceNode(Node old, Node... replacements) {
        int i = indexOf(old);
        nodes.remove(i);
        nodes.addAll(i, Arrays.asList(replacements));
        return this;
    }

    private int indexOf(Node node) {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i) == node) {
                return i;
            }
        }
        throw new InvalidArgumentException(node.describe() + " is not in graph '" + name + "'");
    }

    /** Adds an initializer; an error if one with the same name exists. */
    public Graph addInitializer(TensorProto tensor) {
        if (initializers.containsKey(tensor.getName())) {
            throw new InvalidArgumentException(
                    "graph '" + name + "' already has initializer '" + tensor.getName() + "'");
        }
        return putInitializer(tensor);
    }

    /** Adds or replaces (in place) the initializer with the tensor's name. */
    public Graph putInitializer(TensorProto tensor) {
        if (tensor.getName().isEmpty()) {
            throw new InvalidArgumentException("an initializer needs a name");
        }
        boolean cached = cacheValid();
        initializers.put(tensor.getName(), tensor);
        noteAdded(cached, tensor.getName());
        return this;
    }

    /** Removes an initializer; returns it if it existed. */
    public Optional<TensorProto> removeInitializer(String name) {
        return Optional.ofNullable(initializers.remove(name));
    }

    public Graph addInput(ValueInfoProto v) {
        boolean cached = cacheValid();
        inputs.add(v);
        noteAdded(cached, v.getName());
        return this;
    }

    public Graph addOutput(ValueInfoProto v) {
        boolean cached = cacheValid();
        outputs.add(v);
        noteAdded(cached, v.getName());
        return this;
    }

    public Graph addValueInfo(ValueInfoProto v) {
        boolean cached = cacheValid();
        valueInfos.add(v);
        noteAdded(cached, v.getName());
        return this;
    }

    public boolean removeInput(String name) {
        return inputs.removeIf(v -> v.getName().equals(name));
    }

    public boolean removeOutput(String name) {
        return outputs.removeIf(v -> v.getName().equals(name));
    }

    public boolean removeValueInfo(String name) {
        return valueInfos.removeIf(v -> v.getName().equals(name));
    }

    /**
     * Renames tensor {@code from} to {@code to} everywhere in this graph: node inputs and outputs, graph inputs,
     * outputs, value infos, initializers (keeping order), sparse initializers, and outer-scope references inside
     * subgraphs that do not shadow it. An error if {@code to} is already used.
     */
    public Graph renameTensor(String from, String to) {
        if (from.equals(to)) {
            return this;
        }
        usedCache = null;
        if (from.isEmpty() || to.isEmpty()) {
            throw new InvalidArgumentException("cannot rename '" + from + "' to '" + to + "': empty tensor name");
        }
        if (tensorNames().contains(to)) {
            throw new InvalidArgumentException("cannot rename '" + from + "' to '" + to + "' in graph '" + name + "': '"
                    + to + "' is already used");
        }
        for (Node n : nodes) {
            n.inputs().replaceAll(s -> s.equals(from) ? to : s);
            n.outputs().replaceAll(s -> s.equals(from) ? to : s);
            if (!n.subgraphs().isEmpty()) {
                for (AttributeProto a : List.copyOf(n.attributes().values())) {
                    n.attr(Subgraphs.renameInAttribute(a, from, to));
                }
            }
        }
        UnaryOperator<ValueInfoProto> rv =
                v -> v.getName().equals(from) ? v.toBuilder().setName(to).build() : v;
        inputs.replaceAll(rv);
        outputs.replaceAll(rv);
        valueInfos.replaceAll(rv);
        if (initializers.containsKey(from)) {
            LinkedHashMap<String, TensorProto> copy = new LinkedHashMap<>(initializers);
            initializers.clear();
            copy.forEach((k, t) -> {
                if (k.equals(from)) {
                    initializers.put(to, t.toBuilder().setName(to).build());
                } else {
                    initializers.put(k, t);
                }
            });
        }
        sparseInitializers.replaceAll(s -> s.getValues().getName().equals(from)
                ? s.toBuilder().setValues(s.getValues().toBuilder().setName(to)).build()
                : s);
        return this;
    }

    /** Every tensor name used directly in this graph (inputs, outputs, value infos, initializers, node edges). */
    public Set<String> tensorNames() {
        Set<String> s = new HashSet<>();
        inputs.forEach(v -> s.add(v.getName()));
        outputs.forEach(v -> s.add(v.getName()));
        valueInfos.forEach(v -> s.add(v.getName()));
        s.addAll(initializers.keySet());
        sparseInitializers.forEach(t -> s.add(t.getValues().getName()));
        for (Node n : nodes) {
            s.addAll(n.inputs());
            s.addAll(n.outputs());
        }
        s.remove("");
        return s;
    }

    /**
     * A name starting with {@code prefix} that no tensor, node or subgraph value of this graph uses, nor any name
     * this method returned before: {@code prefix} itself if free, else {@code prefix_1}, {@code prefix_2}, ...
     */
    public String uniqueName(String prefix) {
        Set<String> used = usedNames();
        String candidate = prefix;
        for (int k = 1; candidate.isEmpty() || used.contains(candidate) || reserved.contains(candidate); k++) {
            candidate = prefix + "_" + k;
        }
        reserved.add(candidate);
        return candidate;
    }

    private Set<String> usedNames() {
        long stamp = stamp();
        if (usedCache == null || stamp != usedStamp) {
            Set<String> used = tensorNames();
            for (Node n : nodes) {
                used.add(n.name());
                for (GraphProto g : n.subgraphs()) {
                    Subgraphs.allNames(g, used);
                }
            }
            usedCache = used;
            usedStamp = stamp;
        }
        return usedCache;
    }

    /**
     * A cheap fingerprint of the graph's size and its last node, which changes when nodes, inputs, outputs, value
     * infos or initializers are added or removed. Renames through {@link #renameTensor} drop the cache; in-place edits
     * of a node's outputs made through the live lists are not seen (give new tensors names from uniqueName).
     */
    private long stamp() {
        long h = 31L * nodes.size() + inputs.size();
        h = 31 * h + outputs.size();
        h = 31 * h + valueInfos.size();
        h = 31 * h + initializers.size();
        if (!nodes.isEmpty()) {
            Node last = nodes.get(nodes.size() - 1);
            h = 31 * h
                    + System.identityHashCode(last)
                    + last.name().hashCode()
                    + last.outputs().hashCode();
        }
        return h;
    }

    /**
     * The nodes in a topological order, as close to the current order as possible (stable). Inputs produced
     * outside this graph (graph inputs, initializers, outer scope) impose no order; subgraph outer references
     * count as inputs. Throws {@link InvalidGraphException} on a cycle or a tensor with two producers.
     */
    public List<Node> topologicalOrder() {
        int n = nodes.size();
        Map<String, Integer> producer = new HashMap<>();
        for (int i = 0; i < n; i++) {
            for (String o : nodes.get(i).outputs()) {
                if (o.isEmpty()) {
                    continue;
                }
                Integer prev = producer.put(o, i);
                if (prev != null && prev != i) {
                    throw new InvalidGraphException("graph '" + name + "': tensor '" + o + "' is produced by both "
                            + nodes.get(prev).describe() + " and "
                            + nodes.get(i).describe());
                }
            }
        }
        int[] indegree = new int[n];
        List<List<Integer>> dependents = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            dependents.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            Node node = nodes.get(i);
            Set<Integer> deps = new HashSet<>();
            for (String in : node.inputs()) {
                Integer p = producer.get(in);
                if (p != null) {
                    deps.add(p);
                }
            }
            for (String in : node.implicitInputs()) {
                Integer p = producer.get(in);
                if (p != null) {
                    deps.add(p);
                }
            }
            for (int d : deps) {
                dependents.get(d).add(i);
                indegree[i]++;
            }
        }
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        for (int i = 0; i < n; i++) {
            if (indegree[i] == 0) {
                ready.add(i);
            }
        }
        List<Node> order = new ArrayList<>(n);
        while (!ready.isEmpty()) {
            int i = ready.poll();
            order.add(nodes.get(i));
            for (int d : dependents.get(i)) {
                if (--indegree[d] == 0) {
                    ready.add(d);
                }
            }
        }
        if (order.size() < n) {
            List<String> stuck = new ArrayList<>();
            for (int i = 0; i < n && stuck.size() < 10; i++) {
                if (indegree[i] > 0) {
                    stuck.add(nodes.get(i).describe());
                }
            }
            throw new InvalidGraphException("graph '" + name + "' has a cycle among " + (n - order.size())
                    + " nodes, including " + String.join(", ", stuck));
        }
        return order;
    }

    /** Reorders {@link #nodes()} topologically (see {@link #topologicalOrder()}). */
    public Graph sortTopologically() {
        List<Node> order = topologicalOrder();
        nodes.clear();
        nodes.addAll(order);
        return this;
    }
}
