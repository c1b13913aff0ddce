package dev.rectify.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.rectify.onnx.Builders;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.ort.ElementType;
import dev.rectify.ort.InferenceSession;
import dev.rectify.ort.OptimizationLevel;
import dev.rectify.ort.Outputs;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.DoubleUnaryOperator;

/**
 * Finite-difference gradient checks of {@link Autodiff} through real ONNX Runtime: builds a model from a forward
 * function, appends loss = ReduceSum(out ⊙ W) with fixed random W, differentiates it w.r.t. the float inputs,
 * runs the gradient graph, and compares every gradient element with central differences of the loss computed by
 * running the forward model with perturbed inputs.
 */
final class GradCheck {
    static final SessionConfig CONFIG =
            SessionConfig.builder().intraOpThreads(1).build();
    /**
     * For double graphs: ORT's MatmulTransposeFusion rewrites Transpose+MatMul into com.microsoft.FusedMatMul,
     * whose CPU kernel is float-only, so double models run unoptimised.
     */
    static final SessionConfig DOUBLE_CONFIG = SessionConfig.builder()
            .intraOpThreads(1)
            .optimization(OptimizationLevel.DISABLE_ALL)
            .build();

    private SessionConfig config() {
        return isDouble() ? DOUBLE_CONFIG : CONFIG;
    }

    /** Forward function: given the builder and the float type, returns the output tensor name. */
    interface Forward extends BiFunction<GraphBuilder, DataType, String> {}

    private final String name;
    private final Map<String, long[]> inputs = new LinkedHashMap<>();
    private final Map<String, DoubleUnaryOperator> transforms = new HashMap<>();
    private final Map<String, double[]> fixedData = new HashMap<>();
    private Forward forward;
    private int opset = 17;
    private DataType type = DataType.DOUBLE;
    private Shapes shapes = Shapes.STATIC;
    private long seed = 42;
    private double tolerance = -1;
    private double eps = -1;
    private boolean eachAlone;
    private List<String> wrt;
    private final Map<String, long[]> longFeeds = new LinkedHashMap<>();

    /** How input shapes are declared: all dims known, dims unknown (rank known), or no shape at all. */
    enum Shapes {
        STATIC,
        UNKNOWN_DIMS,
        UNKNOWN_RANK
    }

    private GradCheck(String name) {
        this.name = name;
    }

    static GradCheck of(String name) {
        return new GradCheck(name);
    }

    GradCheck input(String n, long... shape) {
        inputs.put(n, shape);
        return this;
    }

    GradCheck input(String n, DoubleUnaryOperator transform, long... shape) {
        transforms.put(n, transform);
        return input(n, shape);
    }

    /** An input with the given values (instead of random ones). */
    GradCheck input(String n, double[] data, long... shape) {
        fixedData.put(n, data);
        return input(n, shape);
    }

    GradCheck forward(Forward f) {
        this.forward = f;
        return this;
    }

    GradCheck opset(int v) {
        this.opset = v;
        return this;
    }

    GradCheck type(DataType t) {
        this.type = t;
        return this;
    }

    GradCheck float32() {
        return type(DataType.FLOAT);
    }

    GradCheck shapes(Shapes s) {
        this.shapes = s;
        return this;
    }

    GradCheck seed(long s) {
        this.seed = s;
        return this;
    }

    GradCheck tolerance(double t) {
        this.tolerance = t;
        return this;
    }

    GradCheck eps(double e) {
        this.eps = e;
        return this;
    }

    /** Also differentiates w.r.t. each input alone (exercising the "only some inputs need a gradient" branches). */
    GradCheck eachAlone() {
        this.eachAlone = true;
        return this;
    }

    /** An extra INT64 1-D graph input (declared by the forward function) fed with {@code values}. */
    GradCheck feed(String n, long[] values) {
        longFeeds.put(n, values);
        return this;
    }

    GradCheck wrt(String... names) {
        this.wrt = List.of(names);
        return this;
    }

    // ---- running

    private boolean isDouble() {
        return type == DataType.DOUBLE;
    }

    /** Builds the forward graph with loss; returns [graph builder, output name]. */
    private GraphBuilder build(Map<String, long[]> outShape) {
        GraphBuilder g = GraphBuilder.create(name);
        for (Map.Entry<String, long[]> e : inputs.entrySet()) {
            long[] s = e.getValue();
            Object[] dims = new Object[s.length];
            for (int i = 0; i < s.length; i++) {
                dims[i] = shapes == Shapes.STATIC ? (Object) s[i] : null;
            }
            if (shapes == Shapes.UNKNOWN_RANK) {
                g.input(Builders.tensorAnyShape(e.getKey(), type));
            } else {
                g.input(e.getKey(), type, dims);
            }
        }
        String out = forward.apply(g, type);
        if (outShape == null) {
            g.output(Builders.tensorAnyShape(out, type));
            return g;
        }
        long[] os = outShape.get(out);
        Random r = new Random(seed + 7);
        double[] w = new double[(int) Tensors.numElements(os)];
        for (int i = 0; i < w.length; i++) {
            w[i] = r.nextGaussian();
        }
        g.initializer(constant(type, "loss_weights", w, os));
        String prod = g.op("Mul", out, "loss_weights");
        g.node("ReduceSum", List.of(prod), List.of("loss")).attr("keepdims", 0L);
        g.output("loss", type);
        return g;
    }

    private OnnxModel model(Graph graph) {
        return ModelBuilder.create()
                .opset("", opset)
                .opset(OnnxModel.MICROSOFT, 1)
                .graph(graph)
                .build();
    }

    static TensorProto constant(DataType t, String name, double[] v, long... dims) {
        if (t == DataType.DOUBLE) {
            return Tensors.ofDoubles(name, v, dims);
        }
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return Tensors.ofFloats(name, f, dims);
    }

    private Tensor tensor(double[] data, long[] shape) {
        Tensor t = Tensor.zeros(isDouble() ? ElementType.DOUBLE : ElementType.FLOAT, shape);
        ByteBuffer b = t.byteView();
        for (double d : data) {
            if (isDouble()) {
                b.putDouble(d);
            } else {
                b.putFloat((float) d);
            }
        }
        return t;
    }

    static double[] read(Tensor t) {
        ByteBuffer b = t.byteView();
        double[] out = new double[(int) t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.type() == ElementType.DOUBLE ? b.getDouble() : b.getFloat();
        }
        return out;
    }

    private Map<String, double[]> data() {
        Random r = new Random(seed);
        Map<String, double[]> d = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : inputs.entrySet()) {
            if (fixedData.containsKey(e.getKey())) {
                d.put(e.getKey(), fixedData.get(e.getKey()).clone());
                continue;
            }
            double[] v = new double[(int) Tensors.numElements(e.getValue())];
            DoubleUnaryOperator tr = transforms.getOrDefault(e.getKey(), x -> x);
            for (int i = 0; i < v.length; i++) {
                v[i] = tr.applyAsDouble(r.nextGaussian());
            }
            d.put(e.getKey(), v);
        }
        return d;
    }

    private Outputs run(InferenceSession s, Map<String, double[]> data, List<String> outs) {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, double[]> e : data.entrySet()) {
                feeds.put(e.getKey(), tensor(e.getValue(), inputs.get(e.getKey())));
            }
            longFeeds.forEach((k, v) -> feeds.put(k, Tensor.ofLongs(v, v.length)));
            return s.run(feeds, outs);
        } finally {
            feeds.values().forEach(Tensor::close);
        }
    }

    /** Runs the check; returns the graph after differentiation (for inspection). */
    Graph check() {
        Map<String, double[]> data = data();
        // 1. the output shape
        GraphBuilder probe = build(null);
        String out = probe.graph().outputNames().get(0);
        long[] outShape;
        try (InferenceSession s =
                        InferenceSession.fromBytes(model(probe.graph()).toBytes(), name, config());
                Outputs o = run(s, data, List.of(out))) {
            outShape = o.get(out).shape();
        }
        Graph fwd = build(Map.of(out, outShape)).graph();
        byte[] fwdBytes = model(fwd).toBytes();
        // 2. numeric gradients
        List<String> all = wrt != null ? wrt : new ArrayList<>(inputs.keySet());
        Map<String, double[]> numeric = new LinkedHashMap<>();
        double h = eps > 0 ? eps : isDouble() ? 1e-6 : 1e-2;
        try (InferenceSession s = InferenceSession.fromBytes(fwdBytes, name, config())) {
            for (String in : all) {
                double[] v = data.get(in);
                double[] grad = new double[v.length];
                for (int i = 0; i < v.length; i++) {
                    double keep = v[i];
                    v[i] = keep + h;
                    double lp = loss(s, data);
                    v[i] = keep - h;
                    double lm = loss(s, data);
                    v[i] = keep;
                    grad[i] = (lp - lm) / (2 * h);
                }
                numeric.put(in, grad);
            }
        }
        // 3. analytic gradients
        Graph last = analytic(fwdBytes, all, data, numeric);
        if (eachAlone && all.size() > 1) {
            for (String in : all) {
                analytic(fwdBytes, List.of(in), data, numeric);
            }
        }
        return last;
    }

    private Graph analytic(
            byte[] fwdBytes, List<String> wrtList, Map<String, double[]> data, Map<String, double[]> numeric) {
        Graph g = OnnxModel.parse(fwdBytes).graph();
        GradientResult r =
                Autodiff.withDefaultRules().differentiate(g, opset, GradientRequest.ofScalarLoss("loss", wrtList));
        List<String> outs = new ArrayList<>();
        for (String w : wrtList) {
            String gn = r.gradients().get(w);
            g.addOutput(Builders.tensorAnyShape(gn, type));
            outs.add(gn);
        }
        byte[] bytes = model(g).toBytes();
        double tol = tolerance > 0 ? tolerance : isDouble() ? 1e-5 : 2e-2;
        try (InferenceSession s = InferenceSession.fromBytes(bytes, name + "_grad", config());
                Outputs o = run(s, data, outs)) {
            for (String w : wrtList) {
                Tensor t = o.get(r.gradients().get(w));
                assertEquals(
                        Arrays.toString(inputs.get(w)),
                        Arrays.toString(t.shape()),
                        name + ": shape of the gradient of " + w);
                double[] a = read(t);
                double[] n = numeric.get(w);
                for (int i = 0; i < a.length; i++) {
                    double err = Math.abs(a[i] - n[i]);
                    if (!(err <= tol * (1 + Math.abs(n[i])))) {
                        fail(name + " (" + type + ", opset " + opset + ", " + shapes + ", wrt " + wrtList + "): d/d" + w
                                + "[" + i + "] analytic " + a[i] + " vs numeric " + n[i] + "\nanalytic "
                                + Arrays.toString(a)
                                + "\nnumeric  " + Arrays.toString(n));
                    }
                }
            }
        } catch (RuntimeException e) {
            throw new AssertionError(
                    name + " (" + type + ", opset " + opset + ", " + shapes + "): " + e.getMessage() + "\n" + dump(g),
                    e);
        }
        return g;
    }

    static String dump(Graph g) {
        StringBuilder sb = new StringBuilder();
        g.nodes()
                .forEach(n -> sb.append("  ")
                        .append(n)
                        .append(' ')
                        .append(n.attributes().keySet())
                        .append('\n'));
        return sb.toString();
    }

    private double loss(InferenceSession s, Map<String, double[]> data) {
        try (Outputs o = run(s, data, List.of("loss"))) {
            return read(o.get("loss"))[0];
        }
    }
}
