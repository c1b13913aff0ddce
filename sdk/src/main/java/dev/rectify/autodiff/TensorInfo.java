package dev.rectify.autodiff;

import dev.rectify.onnx.Attributes;
import dev.rectify.onnx.Graph;
import dev.rectify.onnx.Node;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.AttributeProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import dev.rectify.onnx.proto.OnnxProto.TensorShapeProto;
import dev.rectify.onnx.proto.OnnxProto.TypeProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Best-effort element types and shapes of a graph's tensors: declared ones (inputs, outputs, value_info,
 * initializers, Constant nodes) plus a light forward inference for the ops autodiff meets. A shape is an
 * {@code Object[]} of dims, each a {@code Long} (known), a {@code String} (symbolic) or {@code null} (unknown);
 * a missing shape means an unknown rank. Element types are ONNX {@code DataType} numbers, 0 when unknown.
 */
final class TensorInfo {
    private static final Set<String> SAME_SHAPE = Set.of("Neg", "Sqrt", "Reciprocal", "Exp", "Log", "Tanh", "Sigmoid",
            "Erf", "Relu", "Softmax", "LogSoftmax", "Identity", "Cast", "CastLike", "Sin", "Cos", "Abs", "Clip", "Gelu",
            "FastGelu", "Sign", "Not", "IsNaN", "IsInf", "Elu", "LeakyRelu", "Softplus", "HardSigmoid", "Floor", "Ceil",
            "Round", "Trilu", "QuickGelu", "Dropout", "LayerNormalization", "SimplifiedLayerNormalization",
            "RMSNormalization", "SkipSimplifiedLayerNormalization");
    private static final Set<String> BROADCAST = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean",
            "Where", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Mod", "PRelu");
    private static final Set<String> BOOL_OUT = Set.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
            "And", "Or", "Xor", "Not", "IsNaN", "IsInf");
    private static final Set<String> INT64_OUT = Set.of("Shape", "Size", "ArgMax", "ArgMin", "NonZero");

    private final Map<String, Integer> types = new HashMap<>();
    private final Map<String, Object[]> shapes = new HashMap<>();

    private TensorInfo() {
    }

    /** Infers types and shapes for {@code graph}, whose nodes are given in topological {@code order}. */
    static TensorInfo infer(Graph graph, List<Node> order, int opset) {
        TensorInfo info = new TensorInfo();
        for (TensorProto t : graph.initializers().values()) {
            info.types.put(t.getName(), t.getDataType());
            info.shapes.put(t.getName(), boxed(Tensors.dims(t)));
        }
        for (List<ValueInfoProto> list : List.of(graph.inputs(), graph.valueInfos(), graph.outputs())) {
            for (ValueInfoProto v : list) {
                info.declare(v);
            }
        }
        for (Node n : order) {
            try {
                info.inferNode(graph, n, opset);
            } catch (RuntimeException e) {
                // best effort: an odd node leaves its outputs unknown
            }
        }
        // declared information wins over inference where it is more precise
        for (List<ValueInfoProto> list : List.of(graph.valueInfos(), graph.outputs())) {
            for (ValueInfoProto v : list) {
                info.declare(v);
            }
        }
        return info;
    }

    private void declare(ValueInfoProto v) {
        if (!v.hasType() || !v.getType().hasTensorType()) {
            return;
        }
        TypeProto.Tensor t = v.getType().getTensorType();
        if (t.getElemType() != 0) {
            types.put(v.getName(), t.getElemType());
        }
        if (t.hasShape()) {
            TensorShapeProto s = t.getShape();
            Object[] dims = new Object[s.getDimCount()];
            for (int i = 0; i < dims.length; i++) {
                TensorShapeProto.Dimension d = s.getDim(i);
                dims[i] = d.hasDimValue() ? (Object) d.getDimValue()
                        : d.hasDimParam() && !d.getDimParam().isEmpty() ? d.getDimParam() : null;
            }
            Object[] old = shapes.get(v.getName());
            if (old == null || known(dims) >= known(old)) {
                shapes.put(v.getName(), dims);
            }
        }
    }

    private static int known(Object[] dims) {
        int k = 1;
        for (Object d : dims) {
            if (d != null) {
                k++;
            }
        }
        return k;
    }

    /** The element type of {@code t}, 0 when unknown. */
    int type(String t) {
        return types.getOrDefault(t, 0);
    }

    /** The shape of {@code t}, null when its rank is unknown. */
    Object[] shape(String t) {
        return shapes.get(t);
    }

    /** The rank of {@code t}, -1 when unknown. */
    int rank(String t) {
        Object[] s = shapes.get(t);
        return s == null ? -1 : s.length;
    }

    /** The shape as numbers when every dim is known. */
    Optional<long[]> staticShape(String t) {
        return numeric(shapes.get(t));
    }

    static Optional<long[]> numeric(Object[] s) {
        if (s == null) {
            return Optional.empty();
        }
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            if (!(s[i] instanceof Long l)) {
                return Optional.empty();
            }
            out[i] = l;
        }
        return Optional.of(out);
    }

    /** Records information about a tensor emitted by autodiff. */
    void put(String t, int type, Object[] shape) {
        if (type != 0) {
            types.put(t, type);
        }
        if (shape != null) {
            shapes.put(t, shape);
        }
    }

    /** Whether {@code type} is a floating-point element type gradients flow through. */
    static boolean isFloat(int type) {
        return type == DataType.FLOAT_VALUE || type == DataType.DOUBLE_VALUE || type == DataType.FLOAT16_VALUE
                || type == DataType.BFLOAT16_VALUE;
    }

    static Object[] boxed(long[] dims) {
        Object[] o = new Object[dims.length];
        for (int i = 0; i < dims.length; i++) {
            o[i] = dims[i];
        }
        return o;
    }

    /** numpy broadcasting of known shapes, dim by dim; unknown (null) where it cannot be decided. */
    static Object[] broadcast(List<Object[]> in) {
        int r = 0;
        for (Object[] s : in) {
            if (s == null) {
                return null;
            }
            r = Math.max(r, s.length);
        }
        Object[] out = new Object[r];
        for (int k = 0; k < r; k++) {
            Long num = null;
            String sym = null;
            boolean unknown = false;
            boolean symConflict = false;
            for (Object[] s : in) {
                int j = k - (r - s.length);
                if (j < 0) {
                    continue;
                }
                Object d = s[j];
                if (d == null) {
                    unknown = true;
                } else if (d instanceof Long l) {
                    if (l != 1 && num == null) {
                        num = l;
                    }
                } else if (sym == null) {
                    sym = (String) d;
                } else if (!sym.equals(d)) {
                    symConflict = true;
                }
            }
            if (num != null) {
                out[k] = num;
            } else if (sym != null) {
                out[k] = unknown || symConflict ? null : sym;
            } else {
                out[k] = unknown ? null : (Object) 1L;
            }
        }
        return out;
    }

    /** com.microsoft.MatMulNBits: A [..., K] → [..., N]. */
    private static Object[] quantizedMatMul(Node n, Object[] a) {
        long outF = Attributes.getInt(n, "N", 0);
        if (a == null || a.length == 0 || outF <= 0) {
            return null;
        }
        Object[] out = a.clone();
        out[out.length - 1] = outF;
        return out;
    }

    /** com.microsoft.GatherBlockQuantized on axis 0 of packed 4-bit [rows, cols/2] data: indices' shape + [cols]. */
    private Object[] quantizedGather(Node n, Object[] indices) {
        Object[] data = s(n.input(0));
        if (indices == null || data == null || data.length != 2 || Attributes.getInt(n, "gather_axis", 0) != 0
                || !(data[1] instanceof Long cols)) {
            return null;
        }
        long width = type(n.input(0)) == DataType.UINT8_VALUE ? cols * (8 / Attributes.getInt(n, "bits", 4)) : cols;
        Object[] out = Arrays.copyOf(indices, indices.length + 1);
        out[indices.length] = width;
        return out;
    }

    private Object[] s(String t) {
        return t.isEmpty() ? null : shapes.get(t);
    }

    private Optional<long[]> constInts(Graph g, String t) {
        if (t.isEmpty()) {
            return Optional.empty();
        }
        return g.constant(t).map(Tensors::toLongArray);
    }

    private void inferNode(Graph g, Node n, int opset) {
        String op = n.opType();
        List<String> outs = n.outputs();
        // ---- types
        int t0 = 0;
        for (String in : n.inputs()) {
            if (!in.isEmpty() && type(in) != 0) {
                t0 = type(in);
                break;
            }
        }
        int outType = t0;
        if (BOOL_OUT.contains(op)) {
            outType = DataType.BOOL_VALUE;
        } else if (INT64_OUT.contains(op)) {
            outType = DataType.INT64_VALUE;
        } else if (op.equals("Cast")) {
            outType = (int) Attributes.getInt(n, "to", 0);
        } else if (op.equals("CastLike")) {
            outType = type(n.input(1));
        } else if (op.equals("Where")) {
            outType = type(n.input(1)) != 0 ? type(n.input(1)) : type(n.input(2));
        } else if (op.equals("ConstantOfShape")) {
            outType = Attributes.getTensor(n, "value").map(TensorProto::getDataType).orElse(DataType.FLOAT_VALUE);
        } else if (op.equals("Constant")) {
            outType = constantType(n);
        } else if (op.equals("Range") || op.equals("Gather") || op.equals("GatherElements")) {
            outType = type(n.input(0));
        } else if (op.equals("GatherBlockQuantized")) {
            outType = type(n.input(2)); // the scales' type
        }
        if (!outs.isEmpty() && outType != 0 && !outs.get(0).isEmpty()) {
            types.putIfAbsent(outs.get(0), outType);
        }
        for (int i = 1; i < outs.size(); i++) {
            String o = outs.get(i);
            if (o.isEmpty()) {
                continue;
            }
            int ti = switch (op) {
                case "Dropout" -> DataType.BOOL_VALUE;
                case "TopK" -> DataType.INT64_VALUE;
                case "LayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization" ->
                        (int) Attributes.getInt(n, "stash_type", DataType.FLOAT_VALUE);
                case "Split" -> outType;
                default -> 0;
            };
            if (ti != 0) {
                types.putIfAbsent(o, ti);
            }
        }
        // ---- shapes
        if (outs.isEmpty() || shapes.containsKey(outs.get(0))) {
            return;
        }
        String x = n.input(0);
        Object[] sx = s(x);
        Object[] out = null;
        if (op.equals("Constant")) {
            out = g.constant(outs.get(0)).map(t -> boxed(Tensors.dims(t))).orElse(null);
        } else if (SAME_SHAPE.contains(op)) {
            out = sx;
            if (op.equals("Dropout") && outs.size() > 1 && sx != null) {
                shapes.put(outs.get(1), sx);
            }
            if ((op.equals("LayerNormalization") || op.equals("SimplifiedLayerNormalization")) && sx != null) {
                int axis = (int) Attributes.getInt(n, "axis", -1);
                int a = axis < 0 ? axis + sx.length : axis;
                Object[] st = sx.clone();
                for (int i = a; i < st.length; i++) {
                    st[i] = 1L;
                }
                for (int i = 1; i < outs.size(); i++) {
                    if (!outs.get(i).isEmpty()) {
                        shapes.put(outs.get(i), st);
                    }
                }
            }
        } else if (BROADCAST.contains(op)) {
            java.util.ArrayList<Object[]> l = new java.util.ArrayList<>();
            for (String in : n.inputs()) {
                l.add(s(in));
            }
            out = broadcast(l);
        } else {
            switch (op) {
                case "MatMul", "FusedMatMul" -> out = matmul(n, sx, s(n.input(1)));
                case "MatMulNBits" -> out = quantizedMatMul(n, sx);
                case "GatherBlockQuantized" -> out = quantizedGather(n, s(n.input(1)));
                case "Gemm" -> {
                    Object[] a = s(n.input(0));
                    Object[] b = s(n.input(1));
                    if (a != null && b != null && a.length == 2 && b.length == 2) {
                        boolean ta = Attributes.getInt(n, "transA", 0) != 0;
                        boolean tb = Attributes.getInt(n, "transB", 0) != 0;
                        out = new Object[] {ta ? a[1] : a[0], tb ? b[0] : b[1]};
                    }
                }
                case "Transpose" -> {
                    if (sx != null) {
                        long[] perm = Attributes.getInts(n, "perm", null);
                        out = new Object[sx.length];
                        for (int i = 0; i < sx.length; i++) {
                            out[i] = sx[perm == null ? sx.length - 1 - i : (int) perm[i]];
                        }
                    }
                }
                case "Reshape" -> {
                    Optional<long[]> shp = constInts(g, n.input(1));
                    if (shp.isPresent()) {
                        out = reshape(sx, shp.get(), Attributes.getInt(n, "allowzero", 0) != 0);
                    }
                }
                case "Flatten" -> {
                    Optional<long[]> st = numeric(sx);
                    if (st.isPresent()) {
                        long[] d = st.get();
                        int axis = (int) Attributes.getInt(n, "axis", 1);
                        if (axis < 0) {
                            axis += d.length;
                        }
                        long a = 1;
                        long b = 1;
                        for (int i = 0; i < d.length; i++) {
                            if (i < axis) {
                                a *= d[i];
                            } else {
                                b *= d[i];
                            }
                        }
                        out = new Object[] {a, b};
                    } else if (sx != null) {
                        out = new Object[] {null, null};
                    }
                }
                case "Squeeze", "Unsqueeze" -> {
                    long[] axes = axes(g, n, opset, 13);
                    if (sx != null && axes != null) {
                        out = op.equals("Squeeze") ? squeeze(sx, axes) : unsqueeze(sx, axes);
                    } else if (sx != null && op.equals("Squeeze") && axes == null && n.input(1).isEmpty()
                            && !n.hasAttribute("axes")) {
                        java.util.ArrayList<Object> l = new java.util.ArrayList<>();
                        boolean ok = true;
                        for (Object d : sx) {
                            if (d == null || d instanceof String) {
                                ok = false;
                            } else if ((Long) d != 1) {
                                l.add(d);
                            }
                        }
                        out = ok ? l.toArray() : null;
                    }
                }
                case "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2",
                        "ReduceSumSquare", "ReduceLogSumExp" -> {
                    long[] axes = axes(g, n, opset, op.equals("ReduceSum") ? 13 : 18);
                    boolean keep = Attributes.getInt(n, "keepdims", 1) != 0;
                    boolean noop = Attributes.getInt(n, "noop_with_empty_axes", 0) != 0;
                    boolean absent = n.input(1).isEmpty() && !n.hasAttribute("axes");
                    if (sx != null && (axes != null || absent)) {
                        if (absent || axes.length == 0) {
                            if (noop) {
                                out = sx;
                            } else {
                                out = new Object[keep ? sx.length : 0];
                                Arrays.fill(out, 1L);
                            }
                        } else {
                            boolean[] red = new boolean[sx.length];
                            for (long a : axes) {
                                red[(int) (a < 0 ? a + sx.length : a)] = true;
                            }
                            java.util.ArrayList<Object> l = new java.util.ArrayList<>();
                            for (int i = 0; i < sx.length; i++) {
                                if (!red[i]) {
                                    l.add(sx[i]);
                                } else if (keep) {
                                    l.add(1L);
                                }
                            }
                            out = l.toArray();
                        }
                    }
                }
                case "Concat" -> {
                    if (sx != null) {
                        int axis = (int) Attributes.getInt(n, "axis", 0);
                        int a = axis < 0 ? axis + sx.length : axis;
                        out = sx.clone();
                        long total = 0;
                        boolean known = true;
                        for (String in : n.inputs()) {
                            Object[] si = s(in);
                            if (si == null || si.length != sx.length) {
                                known = false;
                                break;
                            }
                            for (int i = 0; i < si.length; i++) {
                                if (out[i] == null && i != a) {
                                    out[i] = si[i];
                                }
                            }
                            if (si[a] instanceof Long l) {
                                total += l;
                            } else {
                                known = false;
                            }
                        }
                        out[a] = known ? (Object) total : null;
                    }
                }
                case "Gather" -> {
                    Object[] si = s(n.input(1));
                    if (sx != null && si != null) {
                        int axis = (int) Attributes.getInt(n, "axis", 0);
                        int a = axis < 0 ? axis + sx.length : axis;
                        java.util.ArrayList<Object> l = new java.util.ArrayList<>(Arrays.asList(sx).subList(0, a));
                        l.addAll(Arrays.asList(si));
                        l.addAll(Arrays.asList(sx).subList(a + 1, sx.length));
                        out = l.toArray();
                    }
                }
                case "GatherElements" -> out = s(n.input(1));
                case "Expand" -> {
                    Optional<long[]> shp = constInts(g, n.input(1));
                    if (shp.isPresent()) {
                        out = broadcast(List.of(sx == null ? null : sx, boxed(shp.get())));
                    }
                }
                case "Shape" -> {
                    if (sx != null && !n.hasAttribute("start") && !n.hasAttribute("end")) {
                        out = new Object[] {(long) sx.length};
                    }
                }
                case "Size" -> out = new Object[0];
                case "Range" -> out = new Object[] {null};
                case "NonZero" -> out = sx == null ? null : new Object[] {(long) sx.length, null};
                case "ArgMax", "ArgMin" -> {
                    if (sx != null) {
                        int axis = (int) Attributes.getInt(n, "axis", 0);
                        int a = axis < 0 ? axis + sx.length : axis;
                        out = sx.clone();
                        if (Attributes.getInt(n, "keepdims", 1) != 0) {
                            out[a] = 1L;
                        } else {
                            out = squeeze(sx, new long[] {a});
                        }
                    }
                }
                case "ConstantOfShape" -> {
                    Optional<long[]> shp = constInts(g, n.input(0));
                    if (shp.isPresent()) {
                        out = boxed(shp.get());
                    } else {
                        Object[] ss = s(n.input(0));
                        if (ss != null && ss.length == 1 && ss[0] instanceof Long l) {
                            out = new Object[(int) (long) l];
                        }
                    }
                }
                case "Slice" -> out = slice(g, n, sx);
                case "Split" -> split(g, n, sx, opset);
                default -> out = null;
            }
        }
        if (out != null) {
            shapes.put(outs.get(0), out);
        }
    }

    private static int constantType(Node n) {
        for (AttributeProto a : n.attributes().values()) {
            switch (a.getName()) {
                case "value":
                    return a.getT().getDataType();
                case "value_float", "value_floats":
                    return DataType.FLOAT_VALUE;
                case "value_int", "value_ints":
                    return DataType.INT64_VALUE;
                default:
                    break;
            }
        }
        return 0;
    }

    private long[] axes(Graph g, Node n, int opset, int since) {
        if (n.hasAttribute("axes")) {
            return Attributes.getInts(n, "axes", null);
        }
        return constInts(g, n.input(1)).orElse(null);
    }

    static Object[] matmul(Node n, Object[] a, Object[] b) {
        if (a == null || b == null) {
            return null;
        }
        boolean ta = Attributes.getInt(n, "transA", 0) != 0;
        boolean tb = Attributes.getInt(n, "transB", 0) != 0;
        if (a.length == 1 && b.length == 1) {
            return new Object[0];
        }
        if (a.length == 1) {
            Object[] out = Arrays.copyOf(b, b.length - 1);
            out[b.length - 2] = b[b.length - 1];
            return out;
        }
        if (b.length == 1) {
            return Arrays.copyOf(a, a.length - 1);
        }
        Object[] ba = Arrays.copyOf(a, a.length - 2);
        Object[] bb = Arrays.copyOf(b, b.length - 2);
        Object[] batch = broadcast(List.of(ba, bb));
        Object[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = ta ? a[a.length - 1] : a[a.length - 2];
        out[batch.length + 1] = tb ? b[b.length - 2] : b[b.length - 1];
        return out;
    }

    private static Object[] reshape(Object[] sx, long[] shp, boolean allowZero) {
        Object[] out = new Object[shp.length];
        int minus = -1;
        for (int i = 0; i < shp.length; i++) {
            if (shp[i] == 0 && !allowZero) {
                out[i] = sx != null && i < sx.length ? sx[i] : null;
            } else if (shp[i] == -1) {
                minus = i;
            } else {
                out[i] = shp[i];
            }
        }
        if (minus >= 0) {
            Optional<long[]> in = numeric(sx);
            Optional<long[]> rest = numeric(withoutIndex(out, minus));
            if (in.isPresent() && rest.isPresent()) {
                long p = Tensors.numElements(rest.get());
                out[minus] = p == 0 ? null : (Object) (Tensors.numElements(in.get()) / p);
            }
        }
        return out;
    }

    private static Object[] withoutIndex(Object[] a, int i) {
        Object[] o = new Object[a.length - 1];
        for (int k = 0, j = 0; k < a.length; k++) {
            if (k != i) {
                o[j++] = a[k];
            }
        }
        return o;
    }

    private static Object[] squeeze(Object[] sx, long[] axes) {
        boolean[] drop = new boolean[sx.length];
        for (long a : axes) {
            drop[(int) (a < 0 ? a + sx.length : a)] = true;
        }
        java.util.ArrayList<Object> l = new java.util.ArrayList<>();
        for (int i = 0; i < sx.length; i++) {
            if (!drop[i]) {
                l.add(sx[i]);
            }
        }
        return l.toArray();
    }

    private static Object[] unsqueeze(Object[] sx, long[] axes) {
        int r = sx.length + axes.length;
        boolean[] ins = new boolean[r];
        for (long a : axes) {
            ins[(int) (a < 0 ? a + r : a)] = true;
        }
        Object[] out = new Object[r];
        for (int i = 0, j = 0; i < r; i++) {
            out[i] = ins[i] ? (Object) 1L : sx[j++];
        }
        return out;
    }

    private Object[] slice(Graph g, Node n, Object[] sx) {
        if (sx == null) {
            return null;
        }
        Object[] out = sx.clone();
        Optional<long[]> starts = constInts(g, n.input(1));
        Optional<long[]> ends = constInts(g, n.input(2));
        Optional<long[]> axes = n.input(3).isEmpty() ? Optional.empty() : constInts(g, n.input(3));
        Optional<long[]> steps = n.input(4).isEmpty() ? Optional.empty() : constInts(g, n.input(4));
        if (starts.isEmpty() || ends.isEmpty() || (!n.input(3).isEmpty() && axes.isEmpty())
                || (!n.input(4).isEmpty() && steps.isEmpty())) {
            // rank is kept; the sliced dims are unknown (but we do not know which)
            Arrays.fill(out, null);
            return out;
        }
        long[] st = starts.get();
        for (int i = 0; i < st.length; i++) {
            int ax = axes.isPresent() ? (int) axes.get()[i] : i;
            if (ax < 0) {
                ax += sx.length;
            }
            long step = steps.isPresent() ? steps.get()[i] : 1;
            if (!(sx[ax] instanceof Long dim)) {
                out[ax] = null;
                continue;
            }
            long s = st[i];
            long e = ends.get()[i];
            if (s < 0) {
                s += dim;
            }
            if (e < 0) {
                e += dim;
            }
            long count;
            if (step > 0) {
                s = Math.max(0, Math.min(s, dim));
                e = Math.max(0, Math.min(e, dim));
                count = e > s ? (e - s + step - 1) / step : 0;
            } else {
                s = Math.max(-1, Math.min(s, dim - 1));
                e = Math.max(-1, Math.min(e, dim - 1));
                count = s > e ? (s - e + (-step) - 1) / (-step) : 0;
            }
            out[ax] = count;
        }
        return out;
    }

    private void split(Graph g, Node n, Object[] sx, int opset) {
        if (sx == null) {
            return;
        }
        int axis = (int) Attributes.getInt(n, "axis", 0);
        int a = axis < 0 ? axis + sx.length : axis;
        long[] sizes = n.hasAttribute("split") ? Attributes.getInts(n, "split", null)
                : constInts(g, n.input(1)).orElse(null);
        int k = n.outputs().size();
        for (int i = 0; i < k; i++) {
            Object[] o = sx.clone();
            if (sizes != null) {
                o[a] = sizes[i];
            } else if (sx[a] instanceof Long d && n.input(1).isEmpty() && d % k == 0) {
                o[a] = d / k;
            } else {
                o[a] = null;
            }
            if (!n.output(i).isEmpty()) {
                shapes.putIfAbsent(n.output(i), o);
            }
        }
    }
}
