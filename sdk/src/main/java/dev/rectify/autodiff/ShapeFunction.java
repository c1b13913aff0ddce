package dev.rectify.autodiff;

/**
 * The type and shape inference of one op (part of its {@link OpSpec}): reads the node's input types, shapes and
 * constant inputs from the context and sets its outputs'. Outputs it leaves unset stay unknown. Bad inputs are
 * reported with {@link InferenceContext#fail}; any other exception it throws is reported the same way.
 */
@FunctionalInterface
public interface ShapeFunction {
    /** Nothing is inferred: every output's type and shape stay unknown (unless the graph declares them). */
    ShapeFunction UNKNOWN = ctx -> {};

    void infer(InferenceContext ctx);
}
