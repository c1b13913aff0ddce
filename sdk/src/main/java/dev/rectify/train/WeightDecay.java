package dev.rectify.train;

import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which trained parameters get AdamW's weight decay, as Hugging Face's Trainer decides by default
 * ({@code Trainer.get_decay_parameter_names}): every parameter except biases and LayerNorm/RMSNorm weights. The
 * Trainer finds norm weights by name ({@code bias}, {@code layernorm}, {@code rmsnorm}, a {@code norm} or
 * {@code *_norm} component) and by module type ({@code nn.LayerNorm}); an ONNX graph has no module types, so a
 * weight of rank ≤ 1 stands for the latter (GPT-2's {@code ln_1.weight}: norm scales and biases are the only 1-D
 * weights of a decoder). LoRA's A and B are matrices: always decayed.
 *
 * <p>ORT's AdamW node has one {@code weight_decay} for every parameter, and feeds them in an order the graph
 * cannot know. So when all trained parameters decay, the optimizer model decays them ({@link Where#OPTIMIZER});
 * when some do and some do not, the optimizer model's decay is 0 and the trainer scales each decayed parameter by
 * {@code 1 − lr·wd} just before the optimizer step ({@link Where#TRAINER}): exactly torch.optim.AdamW's order
 * (decay, then the Adam update computed from the gradients of the undecayed weights).
 */
public final class WeightDecay {
    /** Where the decay is applied. */
    public enum Where {
        NONE,
        OPTIMIZER,
        TRAINER
    }

    private static final List<Pattern> NOT_DECAYED = List.of(
            Pattern.compile("bias"),
            Pattern.compile("layernorm"),
            Pattern.compile("rmsnorm"),
            Pattern.compile("(?:^|\\.)norm(?:$|\\.)"),
            Pattern.compile("_norm(?:$|\\.)"));

    private final Map<String, Boolean> decays;

    private WeightDecay(Map<String, Boolean> decays) {
        this.decays = Collections.unmodifiableMap(decays);
    }

    /** The decision for each of {@code params} (in order). */
    public static WeightDecay of(List<TensorProto> params) {
        Map<String, Boolean> d = new LinkedHashMap<>();
        for (TensorProto p : params) {
            d.put(p.getName(), decays(p.getName(), Tensors.dims(p)));
        }
        return new WeightDecay(d);
    }

    /** The decision for the parameters {@code names} of {@code state}, read from their shapes. */
    public static WeightDecay of(CheckpointState state, List<String> names) {
        Map<String, Boolean> d = new LinkedHashMap<>();
        for (String n : names) {
            try (Tensor t = state.parameter(n)) {
                d.put(n, decays(n, t.shape()));
            }
        }
        return new WeightDecay(d);
    }

    /** Whether Hugging Face's default decays the parameter {@code name} of shape {@code dims}. */
    public static boolean decays(String name, long[] dims) {
        if (dims.length <= 1) {
            return false;
        }
        String lower = name.toLowerCase(Locale.ROOT);
        for (Pattern p : NOT_DECAYED) {
            if (p.matcher(lower).find()) {
                return false;
            }
        }
        return true;
    }

    /** Each parameter's decision, by name. */
    public Map<String, Boolean> decisions() {
        return decays;
    }

    /** The decayed parameters, in order. */
    public List<String> decayed() {
        List<String> out = new ArrayList<>();
        decays.forEach((n, d) -> {
            if (d) {
                out.add(n);
            }
        });
        return out;
    }

    /** Where a decay of {@code weightDecay} is applied. */
    public Where where(double weightDecay) {
        int n = decayed().size();
        if (weightDecay == 0 || n == 0) {
            return Where.NONE;
        }
        return n == decays.size() ? Where.OPTIMIZER : Where.TRAINER;
    }

    /**
     * Scales each decayed parameter of {@code state} by {@code 1 − lr·weightDecay} in float32, as torch's
     * {@code param.mul_(1 - lr * weight_decay)}; called before the optimizer step when {@link Where#TRAINER}.
     */
    public void applyBeforeStep(CheckpointState state, double lr, double weightDecay) {
        float factor = (float) (1 - lr * weightDecay);
        if (factor == 1f) {
            return;
        }
        for (String name : decayed()) {
            float[] v;
            long[] shape;
            try (Tensor t = state.parameter(name)) {
                v = t.toFloats();
                shape = t.shape();
            }
            for (int i = 0; i < v.length; i++) {
                v[i] *= factor;
            }
            try (Tensor t = Tensor.ofFloats(v, shape)) {
                state.updateParameter(name, t);
            }
        }
    }
}
