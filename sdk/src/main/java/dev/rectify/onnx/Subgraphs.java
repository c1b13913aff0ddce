package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.NodeProto;
import dev.rectify.onnx.proto.OnnxProto.SparseTensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;

/** Scoping helpers for subgraphs held in node attributes. */
final class Subgraphs {
    private Subgraphs() {}

    /** Names defined inside {@code g}: its inputs, initializers and node outputs. */
    static Set<String> localNames(GraphProto g) {
        Set<String> s = new HashSet<>();
        for (ValueInfoProto v : g.getInputList()) {
            s.add(v.getName());
        }
        for (TensorProto t : g.getInitializerList()) {
            s.add(t.getName());
        }
        for (SparseTensorProto t : g.getSparseInitializerList()) {
            s.add(t.getValues().getName());
        }
        for (NodeProto n : g.getNodeList()) {
            s.addAll(n.getOutputList());
        }
        return s;
    }

    /** Names read inside {@code g} (recursively) that are not defined in it: references to outer scopes. */
    static Set<String> outerReferences(GraphProto g) {
        Set<String> local = localNames(g);
        Set<String> out = new LinkedHashSet<>();
        for (NodeProto n : g.getNodeList()) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !local.contains(in)) {
                    out.add(in);
                }
            }
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    addOuter(out, outerReferences(a.getG()), local);
                }
                for (GraphProto sg : a.getGraphsList()) {
                    addOuter(out, outerReferences(sg), local);
                }
            }
        }
        for (ValueInfoProto v : g.getOutputList()) {
            if (!local.contains(v.getName())) {
                out.add(v.getName());
            }
        }
        return out;
    }

    private static void addOuter(Set<String> out, Set<String> refs, Set<String> local) {
        for (String r : refs) {
            if (!local.contains(r)) {
                out.add(r);
            }
        }
    }

    /** Every name appearing in {@code g} (recursively): values, initializers, node names. */
    static void allNames(GraphProto g, Set<String> into) {
        for (ValueInfoProto v : g.getInputList()) {
            into.add(v.getName());
        }
        for (ValueInfoProto v : g.getOutputList()) {
            into.add(v.getName());
        }
        for (ValueInfoProto v : g.getValueInfoList()) {
            into.add(v.getName());
        }
        for (TensorProto t : g.getInitializerList()) {
            into.add(t.getName());
        }
        for (NodeProto n : g.getNodeList()) {
            into.add(n.getName());
            into.addAll(n.getInputList());
            into.addAll(n.getOutputList());
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasG()) {
                    allNames(a.getG(), into);
                }
                for (GraphProto sg : a.getGraphsList()) {
                    allNames(sg, into);
                }
            }
        }
    }

    /** Renames outer-scope references to {@code from} inside {@code g}, unless {@code g} shadows it. */
    static GraphProto renameOuter(GraphProto g, String from, String to) {
        if (localNames(g).contains(from)) {
            return g;
        }
        GraphProto.Builder b = g.toBuilder();
        for (int i = 0; i < b.getNodeCount(); i++) {
            b.setNode(i, renameInNode(b.getNode(i), from, to));
        }
        for (int i = 0; i < b.getOutputCount(); i++) {
            if (b.getOutput(i).getName().equals(from)) {
                b.setOutput(i, b.getOutput(i).toBuilder().setName(to));
            }
        }
        for (int i = 0; i < b.getValueInfoCount(); i++) {
            if (b.getValueInfo(i).getName().equals(from)) {
                b.setValueInfo(i, b.getValueInfo(i).toBuilder().setName(to));
            }
        }
        return b.build();
    }

    private static NodeProto renameInNode(NodeProto n, String from, String to) {
        NodeProto.Builder b = n.toBuilder();
        for (int i = 0; i < b.getInputCount(); i++) {
            if (b.getInput(i).equals(from)) {
                b.setInput(i, to);
            }
        }
        for (int i = 0; i < b.getAttributeCount(); i++) {
            b.setAttribute(i, renameInAttribute(b.getAttribute(i), from, to));
        }
        return b.build();
    }

    /** Renames outer references inside an attribute's subgraphs; other attributes are returned as is. */
    static AttributeProto renameInAttribute(AttributeProto a, String from, String to) {
        if (!a.hasG() && a.getGraphsCount() == 0) {
            return a;
        }
        AttributeProto.Builder b = a.toBuilder();
        if (a.hasG()) {
            b.setG(renameOuter(a.getG(), from, to));
        }
        for (int i = 0; i < a.getGraphsCount(); i++) {
            b.setGraphs(i, renameOuter(a.getGraphs(i), from, to));
        }
        return b.build();
    }
}
