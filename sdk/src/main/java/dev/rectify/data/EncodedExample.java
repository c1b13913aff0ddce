package dev.rectify.data;

/**
 * A tokenized example: {@code ids} and, per position, whether that token is a training target (a completion or
 * trained assistant token, or the end-of-sequence token after it). {@code index} is the example's position in
 * its source list.
 */
public record EncodedExample(int index, long[] ids, boolean[] target) {
    /** Number of tokens. */
    public int length() {
        return ids.length;
    }

    /** Number of positions trained on. */
    public int targetCount() {
        int n = 0;
        for (boolean b : target) {
            if (b) {
                n++;
            }
        }
        return n;
    }
}
