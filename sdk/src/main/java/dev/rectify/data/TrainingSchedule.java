package dev.rectify.data;

import dev.rectify.core.InvalidArgumentException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * The order in which examples are seen: each epoch shuffles the examples with {@code seed + epoch}, groups them
 * into optimizer steps of {@code batchSize} examples, and splits each step into micro-batches of at most
 * {@code microBatchSize} examples of similar length (sorted within the step, so padding is small while each
 * step's composition stays random). Deterministic: the same seed gives the same steps, which makes resuming
 * from a checkpoint exact.
 */
public final class TrainingSchedule {
    private final List<EncodedExample> examples;
    private final int batchSize;
    private final int microBatchSize;
    private final long seed;
    private final long padId;

    public TrainingSchedule(List<EncodedExample> examples, int batchSize, int microBatchSize, long seed, long padId) {
        if (examples.isEmpty()) {
            throw new InvalidArgumentException("no examples to schedule");
        }
        if (batchSize < 1 || microBatchSize < 1 || microBatchSize > batchSize) {
            throw new InvalidArgumentException("need 1 <= microBatchSize <= batchSize, got microBatchSize "
                    + microBatchSize + " and batchSize " + batchSize);
        }
        this.examples = List.copyOf(examples);
        this.batchSize = Math.min(batchSize, examples.size());
        this.microBatchSize = Math.min(microBatchSize, this.batchSize);
        this.seed = seed;
        this.padId = padId;
    }

    /** Optimizer steps per epoch (the last, partial batch is kept). */
    public int stepsPerEpoch() {
        return (examples.size() + batchSize - 1) / batchSize;
    }

    /** The micro-batches of step {@code step} (0-based) of {@code epoch} (0-based). */
    public List<MicroBatch> step(int epoch, int step) {
        List<EncodedExample> order = new ArrayList<>(examples);
        Collections.shuffle(order, new Random(seed * 1_000_003L + epoch));
        int from = step * batchSize;
        if (step < 0 || from >= order.size()) {
            throw new InvalidArgumentException("step " + step + " is outside epoch of " + stepsPerEpoch() + " steps");
        }
        List<EncodedExample> chunk = new ArrayList<>(order.subList(from, Math.min(order.size(), from + batchSize)));
        chunk.sort(Comparator.comparingInt(EncodedExample::length).thenComparingInt(EncodedExample::index));
        List<MicroBatch> out = new ArrayList<>();
        for (int i = 0; i < chunk.size(); i += microBatchSize) {
            out.add(MicroBatch.of(chunk.subList(i, Math.min(chunk.size(), i + microBatchSize)), padId));
        }
        return out;
    }

    /** Fixed micro-batches over all examples in order, for evaluation. */
    public static List<MicroBatch> evaluationBatches(List<EncodedExample> examples, int microBatchSize, long padId) {
        List<EncodedExample> sorted = new ArrayList<>(examples);
        sorted.sort(Comparator.comparingInt(EncodedExample::length).thenComparingInt(EncodedExample::index));
        List<MicroBatch> out = new ArrayList<>();
        for (int i = 0; i < sorted.size(); i += microBatchSize) {
            out.add(MicroBatch.of(sorted.subList(i, Math.min(sorted.size(), i + microBatchSize)), padId));
        }
        return out;
    }
}
