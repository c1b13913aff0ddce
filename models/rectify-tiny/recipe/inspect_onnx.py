"""Inspect the exported graphs with python3-onnx: names, shapes, op set, domains, initializers, and
int64 constants that could be shapes baked in from the trace (trace used batch 3, sequence 7, past 5)."""
import collections
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

TRACE_DIMS = {3, 7, 5, 12}


def dims(vi):
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


def inspect(path):
    m = onnx.load(path)
    onnx.checker.check_model(m)
    g = m.graph
    print(f"== {os.path.basename(path)}: {os.path.getsize(path)} bytes, opset "
          f"{[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}")
    print("inputs :", [(i.name, dims(i)) for i in g.input])
    print("outputs:", [(o.name, dims(o)) for o in g.output])
    ops = collections.Counter((n.domain or "ai.onnx") + ":" + n.op_type for n in g.node)
    print("ops    :", dict(ops))
    ext = [t.name for t in g.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    print("external-data initializers:", ext)
    print("initializers:", len(g.initializer), [t.name for t in g.initializer][:6], "...")
    suspicious = []
    for n in g.node:
        if n.op_type == "Constant":
            t = numpy_helper.to_array(n.attribute[0].t)
            if t.dtype == np.int64 and t.size > 0 and set(t.flatten().tolist()) & TRACE_DIMS:
                suspicious.append((n.output[0], t.tolist()))
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        if a.dtype == np.int64 and 0 < a.size < 16 and set(a.flatten().tolist()) & TRACE_DIMS:
            suspicious.append((t.name, a.tolist()))
    consumers = collections.defaultdict(list)
    for n in g.node:
        for i, x in enumerate(n.input):
            consumers[x].append((n.op_type, i))
    # a traced batch/sequence/past size baked in would reach a shape operand directly (Reshape/Expand
    # shape, ConstantOfShape, Tile, Range, or a Concat that builds a shape); axis numbers used by
    # Gather/Unsqueeze/Slice on Shape outputs are harmless.
    shape_like = {("Reshape", 1), ("Expand", 1), ("ConstantOfShape", 0), ("Tile", 1), ("Range", 0),
                  ("Range", 1)}
    producers_out = {n.output[0]: n for n in g.node if n.op_type == "Unsqueeze"}

    def reaches_shape(name, depth=0):
        for n in g.node:
            for i, x in enumerate(n.input):
                if x != name:
                    continue
                if (n.op_type, i) in shape_like or n.op_type == "Concat":
                    return True
                if n.op_type == "Unsqueeze" and i == 0 and depth < 2 and reaches_shape(n.output[0], depth + 1):
                    return True
        return False
    del producers_out
    baked = [(name, v, consumers[name]) for name, v in suspicious if reaches_shape(name)]
    print(f"int64 constants equal to a trace dimension: {len(suspicious)} (consumers: "
          f"{sorted({c for name, _ in suspicious for c in consumers[name]})}); feeding a shape operand: {baked}")
    assert not baked, "a trace-time shape is baked into the graph"
    inf = shape_inference.infer_shapes(m)
    print("inferred outputs:", [(o.name, dims(o)) for o in inf.graph.output][:3])
    return m


if __name__ == "__main__":
    for p in sys.argv[1:]:
        inspect(p)
