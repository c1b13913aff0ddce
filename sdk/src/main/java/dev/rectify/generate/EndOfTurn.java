package dev.rectify.generate;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.RectifyException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The special token a chat template closes an assistant turn with ({@code <|im_end|>}, {@code <|eot_id|>},
 * {@code <end_of_turn>}, {@code <|end|>}, {@code </s>}...), which may differ from the tokenizer's
 * {@code eos_token}. Training targets it after every assistant reply, and generation stops on it.
 */
public final class EndOfTurn {
    private EndOfTurn() {}

    /**
     * The special token that starts at or after {@code from} in {@code text} with only whitespace before it, as
     * {@code {start, end}} offsets; null when the text there does not continue with a special token.
     */
    public static int[] find(String text, int from, Map<String, Long> specials) {
        int p = from;
        while (p < text.length() && Character.isWhitespace(text.charAt(p))) {
            p++;
        }
        String best = null;
        for (String s : specials.keySet()) {
            if (!s.isEmpty() && text.startsWith(s, p) && (best == null || s.length() > best.length())) {
                best = s;
            }
        }
        return best == null ? null : new int[] {p, p + best.length()};
    }

    /**
     * The end-of-turn token of {@code template}: the special token it writes right after an assistant reply in the
     * conversation [user, assistant]; empty when the template writes none there or rejects that conversation.
     */
    public static Optional<String> of(ChatTemplate template, Tokenizer tokenizer) {
        String reply = "Rectify end-of-turn probe reply";
        String text;
        try {
            text = template.render(
                    List.of(ChatMessage.user("Rectify end-of-turn probe"), ChatMessage.assistant(reply)), false);
        } catch (RectifyException e) {
            return Optional.empty();
        }
        int at = text.lastIndexOf(reply);
        if (at < 0) {
            return Optional.empty();
        }
        int[] span = find(text, at + reply.length(), tokenizer.specialTokens());
        return span == null ? Optional.empty() : Optional.of(text.substring(span[0], span[1]));
    }
}
