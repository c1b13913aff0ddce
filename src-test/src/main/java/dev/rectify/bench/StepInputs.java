package dev.rectify.bench;

import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import dev.rectify.train.ObjectiveHead;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One benchmark batch of random token ids (attention mask all ones, position ids 0..L-1, labels the next token, the
 * last position ignored) and one optimizer step over it, as the Trainer does it for a single micro-batch.
 */
record StepInputs(long[] ids, long[] mask, long[] pos, long[] labels, long[][] rows, int batch, int seq) {

    static StepInputs random(int vocab, int batch, int seq, SplittableRandom rnd) {
        int n = batch * seq;
        long[] ids = new long[n];
        long[] mask = new long[n];
        long[] pos = new long[n];
        long[] labels = new long[n];
        long[][] rows = new long[batch][seq];
        for (int r = 0; r < batch; r++) {
            for (int t = 0; t < seq; t++) {
                ids[r * seq + t] = rows[r][t] = rnd.nextInt(3, vocab);
            }
        }
        for (int r = 0; r < batch; r++) {
            for (int t = 0; t < seq; t++) {
                int i = r * seq + t;
                mask[i] = 1;
                pos[i] = t;
                labels[i] = t + 1 < seq ? ids[i + 1] : ObjectiveHead.IGNORE_INDEX;
            }
        }
        return new StepInputs(ids, mask, pos, labels, rows, batch, seq);
    }

    long tokens() {
        return (long) batch * seq;
    }

    long targets() {
        return (long) batch * (seq - 1);
    }

    /** LazyResetGrad, TrainStep, OptimizerStep; returns {loss, mean nll}. */
    double[] step(TrainingSession s) {
        long[] shape = {batch, seq};
        List<Tensor> in = new ArrayList<>();
        try {
            for (String n : s.trainingInputNames()) {
                in.add(
                        switch (n) {
                            case "input_ids" -> Tensor.ofLongs(ids, shape);
                            case "attention_mask" -> Tensor.ofLongs(mask, shape);
                            case "position_ids" -> Tensor.ofLongs(pos, shape);
                            case ObjectiveHead.LABELS -> Tensor.ofLongs(labels, shape);
                            case ObjectiveHead.LOSS_DENOMINATOR -> Tensor.ofFloats(new float[] {targets()}, 1);
                            default -> throw new IllegalStateException("unexpected training input " + n);
                        });
            }
            s.lazyResetGrad();
            List<Tensor> outs = s.trainStep(in, null);
            double loss;
            double nll;
            try {
                List<String> names = s.trainingOutputNames();
                loss = outs.get(names.indexOf(ObjectiveHead.LOSS)).toFloats()[0];
                nll = outs.get(names.indexOf(ObjectiveHead.NLL_SUM)).toFloats()[0] / targets();
            } finally {
                outs.forEach(Tensor::close);
            }
            s.optimizerStep(null);
            return new double[] {loss, nll};
        } finally {
            in.forEach(Tensor::close);
        }
    }
}
