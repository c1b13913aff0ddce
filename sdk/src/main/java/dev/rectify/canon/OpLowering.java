package dev.rectify.canon;

/** Rewrites one fused node into standard ONNX nodes, emitted through {@link Lower}, computing the same outputs. */
@FunctionalInterface
interface OpLowering {
    void lower(Lower ctx);
}
