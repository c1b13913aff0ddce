package dev.rectify.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Compares the greedy tokens of two engines, prompt by prompt: either "identical" or where they first part (which
 * prompt, which new token, which ids), so a benchmark reports whether every engine decoded the same thing.
 */
final class TokenAgreement {
    private TokenAgreement() {}

    /** The token ids of each prompt from a peer's JSON {@code outputs} (a list of id lists). */
    static List<long[]> fromJson(JsonNode outputs) {
        if (!outputs.isArray()) {
            throw new IllegalArgumentException("peer JSON has no outputs list (got " + outputs.getNodeType() + ")");
        }
        List<long[]> out = new ArrayList<>();
        for (JsonNode p : outputs) {
            long[] ids = new long[p.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = p.get(i).asLong();
            }
            out.add(ids);
        }
        return out;
    }

    /** "identical (N prompts, T tokens)" or the first prompt and token where {@code other} differs from {@code ref}. */
    static String describe(List<long[]> ref, List<long[]> other) {
        if (ref.size() != other.size()) {
            return "different prompt counts: " + ref.size() + " vs " + other.size();
        }
        long tokens = 0;
        for (int p = 0; p < ref.size(); p++) {
            long[] a = ref.get(p);
            long[] b = other.get(p);
            int n = Math.min(a.length, b.length);
            for (int i = 0; i < n; i++) {
                if (a[i] != b[i]) {
                    return "differ: prompt " + p + ", new token " + i + ": " + a[i] + " vs " + b[i];
                }
            }
            if (a.length != b.length) {
                return "differ: prompt " + p + " has " + a.length + " vs " + b.length + " new tokens";
            }
            tokens += n;
        }
        return "identical (" + ref.size() + " prompts, " + tokens + " tokens)";
    }
}
