package dev.rectify.onnx;

import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.FunctionProto;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.NodeProto;
import dev.rectify.onnx.proto.OnnxProto.SparseTensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TrainingInfoProto;
import java.util.function.UnaryOperator;

/**
 * Applies a function to every tensor of a model: initializers, sparse initializers, tensor attributes, in
 * subgraphs, functions and training info too. Messages are rebuilt only where a tensor changed (the function
 * returns the same instance for tensors it leaves alone).
 */
final class TensorWalker {
    private final UnaryOperator<TensorProto> f;

    private TensorWalker(UnaryOperator<TensorProto> f) {
        this.f = f;
    }

    static ModelProto map(ModelProto m, UnaryOperator<TensorProto> f) {
        return new TensorWalker(f).model(m);
    }

    private ModelProto model(ModelProto m) {
        ModelProto.Builder b = null;
        if (m.hasGraph()) {
            GraphProto g = graph(m.getGraph());
            if (g != m.getGraph()) {
                b = m.toBuilder().setGraph(g);
            }
        }
        for (int i = 0; i < m.getFunctionsCount(); i++) {
            FunctionProto fn = m.getFunctions(i);
            FunctionProto.Builder fb = null;
            for (int j = 0; j < fn.getNodeCount(); j++) {
                NodeProto n = node(fn.getNode(j));
                if (n != fn.getNode(j)) {
                    fb = fb == null ? fn.toBuilder() : fb;
                    fb.setNode(j, n);
                }
            }
            if (fb != null) {
                b = b == null ? m.toBuilder() : b;
                b.setFunctions(i, fb);
            }
        }
        for (int i = 0; i < m.getTrainingInfoCount(); i++) {
            TrainingInfoProto ti = m.getTrainingInfo(i);
            GraphProto init = graph(ti.getInitialization());
            GraphProto algo = graph(ti.getAlgorithm());
            if (init != ti.getInitialization() || algo != ti.getAlgorithm()) {
                b = b == null ? m.toBuilder() : b;
                TrainingInfoProto.Builder tb = ti.toBuilder();
                if (ti.hasInitialization()) {
                    tb.setInitialization(init);
                }
                if (ti.hasAlgorithm()) {
                    tb.setAlgorithm(algo);
                }
                b.setTrainingInfo(i, tb);
            }
        }
        return b == null ? m : b.build();
    }

    private GraphProto graph(GraphProto g) {
        GraphProto.Builder b = null;
        for (int i = 0; i < g.getInitializerCount(); i++) {
            TensorProto t = f.apply(g.getInitializer(i));
            if (t != g.getInitializer(i)) {
                b = b == null ? g.toBuilder() : b;
                b.setInitializer(i, t);
            }
        }
        for (int i = 0; i < g.getSparseInitializerCount(); i++) {
            SparseTensorProto s = sparse(g.getSparseInitializer(i));
            if (s != g.getSparseInitializer(i)) {
                b = b == null ? g.toBuilder() : b;
                b.setSparseInitializer(i, s);
            }
        }
        for (int i = 0; i < g.getNodeCount(); i++) {
            NodeProto n = node(g.getNode(i));
            if (n != g.getNode(i)) {
                b = b == null ? g.toBuilder() : b;
                b.setNode(i, n);
            }
        }
        return b == null ? g : b.build();
    }

    private SparseTensorProto sparse(SparseTensorProto s) {
        TensorProto v = s.hasValues() ? f.apply(s.getValues()) : s.getValues();
        TensorProto ix = s.hasIndices() ? f.apply(s.getIndices()) : s.getIndices();
        if (v == s.getValues() && ix == s.getIndices()) {
            return s;
        }
        SparseTensorProto.Builder b = s.toBuilder();
        if (s.hasValues()) {
            b.setValues(v);
        }
        if (s.hasIndices()) {
            b.setIndices(ix);
        }
        return b.build();
    }

    private NodeProto node(NodeProto n) {
        NodeProto.Builder b = null;
        for (int i = 0; i < n.getAttributeCount(); i++) {
            AttributeProto a = attribute(n.getAttribute(i));
            if (a != n.getAttribute(i)) {
                b = b == null ? n.toBuilder() : b;
                b.setAttribute(i, a);
            }
        }
        return b == null ? n : b.build();
    }

    private AttributeProto attribute(AttributeProto a) {
        AttributeProto.Builder b = null;
        if (a.hasT()) {
            TensorProto t = f.apply(a.getT());
            if (t != a.getT()) {
                b = a.toBuilder().setT(t);
            }
        }
        for (int i = 0; i < a.getTensorsCount(); i++) {
            TensorProto t = f.apply(a.getTensors(i));
            if (t != a.getTensors(i)) {
                b = b == null ? a.toBuilder() : b;
                b.setTensors(i, t);
            }
        }
        if (a.hasSparseTensor()) {
            SparseTensorProto s = sparse(a.getSparseTensor());
            if (s != a.getSparseTensor()) {
                b = b == null ? a.toBuilder() : b;
                b.setSparseTensor(s);
            }
        }
        for (int i = 0; i < a.getSparseTensorsCount(); i++) {
            SparseTensorProto s = sparse(a.getSparseTensors(i));
            if (s != a.getSparseTensors(i)) {
                b = b == null ? a.toBuilder() : b;
                b.setSparseTensors(i, s);
            }
        }
        if (a.hasG()) {
            GraphProto g = graph(a.getG());
            if (g != a.getG()) {
                b = b == null ? a.toBuilder() : b;
                b.setG(g);
            }
        }
        for (int i = 0; i < a.getGraphsCount(); i++) {
            GraphProto g = graph(a.getGraphs(i));
            if (g != a.getGraphs(i)) {
                b = b == null ? a.toBuilder() : b;
                b.setGraphs(i, g);
            }
        }
        return b == null ? a : b.build();
    }
}
