package dev.rectify.autodiff;

import static dev.rectify.autodiff.OpSpec.Inputs.only;

import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.OpOutputs;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;

/**
 * Ops without a gradient rule that autodiff still meets: ones through which no gradient ever flows (shapes,
 * comparisons, indices, randomness, rounding), and ones whose non-data inputs must not be differentiated through
 * (an on-path TopK or Pad is reported unsupported, but its indices or pads never pull nodes onto the path). Each
 * carries its shape function where one is known.
 */
final class ShapeOnlyOps {
    private ShapeOnlyOps() {}

    static void register(OpRegistry.Builder m) {
        // no gradient flows through these at all
        m.add(OpSpec.of("Shape").shape(MovementShapes.SHAPE).noGradient());
        m.add(OpSpec.of("Size").shape(MovementShapes.SIZE).noGradient());
        m.add(OpSpec.of("NonZero").shape(MovementShapes.NON_ZERO).noGradient());
        m.add(OpSpec.of("ArgMax").shape(MovementShapes.ARG_MAX).noGradient());
        m.add(OpSpec.of("ArgMin").shape(MovementShapes.ARG_MAX).noGradient());
        m.add(OpSpec.of("ConstantOfShape")
                .shape(ShapeFunctions.CONSTANT_OF_SHAPE)
                .noGradient());
        m.add(OpSpec.of("Constant").shape(ShapeFunctions.CONSTANT).noGradient());
        m.add(OpSpec.of("Range").shape(MovementShapes.RANGE).noGradient());
        // comparisons and logic: the BOOL ops of the shared output table
        for (String op : OpOutputs.BOOL_ELEMENTWISE) {
            m.add(OpSpec.of(op)
                    .shape(ShapeFunctions.sameShapeAs(DataType.BOOL_VALUE))
                    .noGradient());
        }
        for (String op : OpOutputs.BOOL_BROADCAST) {
            m.add(OpSpec.of(op).shape(ShapeFunctions.BROADCAST_BOOL).noGradient());
        }
        for (String op : new String[] {"Sign", "Floor", "Ceil", "Round"}) {
            m.add(OpSpec.of(op).shape(ShapeFunctions.SAME).noGradient());
        }
        m.add(OpSpec.of("Mod").shape(ShapeFunctions.BROADCAST).noGradient());
        for (String op : new String[] {
            "OneHot",
            "EyeLike",
            "RandomNormalLike",
            "RandomUniformLike",
            "Bernoulli",
            "Multinomial",
            "BitShift",
            "RandomNormal",
            "RandomUniform"
        }) {
            m.add(OpSpec.of(op).noGradient());
        }
        m.add(OpSpec.of(OnnxModel.MICROSOFT, "BroadcastGradientArgs").noGradient());

        // only the data input (0) may carry gradient; no rule (yet)
        m.add(OpSpec.of("TopK").shape(MovementShapes.TOP_K).inputs(only(0)));
        m.add(OpSpec.of("Trilu").shape(ShapeFunctions.SAME).inputs(only(0)));
        for (String op : new String[] {"ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceLogSumExp"}) {
            m.add(OpSpec.of(op).shape(MovementShapes.REDUCE).inputs(only(0)));
        }
        for (String op : new String[] {
            "GatherND",
            "Tile",
            "ReduceL1",
            "ReduceLogSum",
            "Pad",
            "Resize",
            "Upsample",
            "SoftmaxCrossEntropyLoss",
            "NegativeLogLikelihoodLoss"
        }) {
            m.add(OpSpec.of(op).shape(ShapeFunctions.TYPE_ONLY).inputs(only(0)));
        }
        m.add(OpSpec.of("CumSum").shape(ShapeFunctions.SAME).inputs(only(0)));
        for (String op : new String[] {"ScatterND", "ScatterElements", "Scatter"}) {
            m.add(OpSpec.of(op).shape(ShapeFunctions.SAME).inputs(OpSpec.Inputs.allBut(1)));
        }

        // element-wise ops without a rule
        for (String op : new String[] {"Elu", "LeakyRelu", "Softplus", "HardSigmoid"}) {
            m.add(OpSpec.of(op).shape(ShapeFunctions.SAME));
        }
        m.add(OpSpec.of("CastLike").shape(ShapeFunctions.CAST_LIKE));
        m.add(OpSpec.of("PRelu").shape(ShapeFunctions.BROADCAST));
        m.add(OpSpec.of(OnnxModel.MICROSOFT, "QuickGelu").shape(ShapeFunctions.SAME));
        m.add(OpSpec.of(OnnxModel.MICROSOFT, "SkipSimplifiedLayerNormalization").shape(ShapeFunctions.SAME));
    }
}
