package dev.rectify.data;

import java.util.Arrays;
import java.util.List;

/**
 * A padded micro-batch ready for the training graph, row-major {@code [rows, length]}: token ids (right-padded),
 * attention mask, position ids, and labels already shifted (label t is the target of position t's logits, −100
 * where nothing is learned). {@code targets} counts the labels that are not −100.
 */
public record MicroBatch(
        int rows,
        int length,
        long[] inputIds,
        long[] attentionMask,
        long[] positionIds,
        long[] labels,
        int targets,
        int[] exampleIndices) {
    /** The label value of positions that are not trained. */
    public static final long IGNORE = -100;

    /** Builds a micro-batch from encoded examples, padding with {@code padId}. */
    public static MicroBatch of(List<EncodedExample> examples, long padId) {
        int rows = examples.size();
        int len = 0;
        for (EncodedExample e : examples) {
            len = Math.max(len, e.length());
        }
        long[] ids = new long[rows * len];
        long[] mask = new long[rows * len];
        long[] pos = new long[rows * len];
        long[] labels = new long[rows * len];
        int[] idx = new int[rows];
        int targets = 0;
        Arrays.fill(labels, IGNORE);
        Arrays.fill(ids, padId);
        for (int r = 0; r < rows; r++) {
            EncodedExample e = examples.get(r);
            idx[r] = e.index();
            for (int t = 0; t < e.length(); t++) {
                ids[r * len + t] = e.ids()[t];
                mask[r * len + t] = 1;
                pos[r * len + t] = t;
                if (t + 1 < e.length() && e.target()[t + 1]) {
                    labels[r * len + t] = e.ids()[t + 1];
                    targets++;
                }
            }
            for (int t = e.length(); t < len; t++) {
                pos[r * len + t] = 1;
            }
        }
        return new MicroBatch(rows, len, ids, mask, pos, labels, targets, idx);
    }
}
