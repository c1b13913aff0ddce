package dev.rectify.data;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.ChatTemplate;
import dev.rectify.generate.EndOfTurn;
import dev.rectify.generate.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokenizes examples for training. With a chat template, a prompt/completion pair is the conversation
 * [user: prompt, assistant: completion]; every trained assistant message contributes what the model writes after
 * the generation prompt as targets: its content and the special token the template closes the turn with (the
 * end-of-turn token, e.g. {@code <|im_end|>}, {@code <|eot_id|>}, {@code <end_of_turn>}, {@code <|end|>}, even
 * where it differs from {@code eos_token}; the end-of-sequence token is appended only when the template closes
 * turns with no special token). Everything else (system, user, untrained assistant turns, the template's markup)
 * is context. Without a template the prompt and completion are concatenated as raw text, followed by the
 * end-of-sequence token.
 *
 * <p>Truncation: sequences longer than {@code maxLength} keep their first {@code maxLength} tokens (right
 * truncation, as the DFT paper's pipeline does); an example left with no target token is an error naming it.
 */
public final class ExampleEncoder {
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final long eosId;
    private final int maxLength;
    private final int vocabSize;

    /**
     * @param template the chat template, or null to concatenate raw text
     * @param eosId    the end-of-sequence id appended after each raw completion (and after chat replies whose
     *                 template closes the turn with no special token)
     */
    public ExampleEncoder(Tokenizer tokenizer, ChatTemplate template, long eosId, int maxLength) {
        this(tokenizer, template, eosId, maxLength, 0);
    }

    /**
     * As {@link #ExampleEncoder(Tokenizer, ChatTemplate, long, int)}, and an example holding a token id outside
     * {@code [0, vocabSize)} is an error naming the example and the token ({@code vocabSize <= 0}: not checked).
     */
    public ExampleEncoder(Tokenizer tokenizer, ChatTemplate template, long eosId, int maxLength, int vocabSize) {
        if (maxLength < 2) {
            throw new InvalidArgumentException("maxLength must be >= 2, got " + maxLength);
        }
        if (vocabSize > 0 && (eosId < 0 || eosId >= vocabSize)) {
            throw new InvalidArgumentException("the end-of-sequence id " + eosId
                    + " is outside the model's vocabulary of " + vocabSize + " tokens");
        }
        this.tokenizer = tokenizer;
        this.template = template;
        this.eosId = eosId;
        this.maxLength = maxLength;
        this.vocabSize = vocabSize;
    }

    /** Encodes every example; errors name the example's index. */
    public List<EncodedExample> encodeAll(List<Example> examples) {
        if (examples.isEmpty()) {
            throw new InvalidArgumentException("no examples to train on: the example list is empty");
        }
        List<EncodedExample> out = new ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) {
            out.add(encode(i, examples.get(i)));
        }
        return out;
    }

    /** Encodes one example. */
    public EncodedExample encode(int index, Example ex) {
        List<Long> ids = new ArrayList<>();
        List<Boolean> target = new ArrayList<>();
        if (template == null) {
            if (ex.isChat()) {
                throw new InvalidArgumentException(
                        "example " + index + " is a conversation but the model has no chat template");
            }
            append(ids, target, tokenizer.encode(ex.prompt()), false);
            long[] completion = tokenizer.encode(ex.completion());
            requireTokens(index, completion);
            append(ids, target, completion, true);
            ids.add(eosId);
            target.add(true);
        } else {
            encodeChat(index, ex.asMessages(), ids, target);
        }
        int n = Math.min(ids.size(), maxLength);
        long[] outIds = new long[n];
        boolean[] outTarget = new boolean[n];
        int targets = 0;
        for (int i = 0; i < n; i++) {
            outIds[i] = ids.get(i);
            if (vocabSize > 0 && (outIds[i] < 0 || outIds[i] >= vocabSize)) {
                throw new InvalidArgumentException("example " + index + ", token " + i + ": id " + outIds[i]
                        + " is outside the model's vocabulary of " + vocabSize + " tokens (its config's vocab_size); "
                        + "the tokenizer does not match the model, or the text uses tokens the model never learned");
            }
            outTarget[i] = i > 0 && target.get(i);
            targets += outTarget[i] ? 1 : 0;
        }
        if (targets == 0) {
            throw new InvalidArgumentException("example " + index + " has no token left to learn after truncation to "
                    + maxLength + " tokens (its prompt alone is " + countContext(target)
                    + " tokens): shorten the prompt "
                    + "or raise maxSeqLength");
        }
        return new EncodedExample(index, outIds, outTarget);
    }

    private static int countContext(List<Boolean> target) {
        int i = 0;
        while (i < target.size() && !target.get(i)) {
            i++;
        }
        return i;
    }

    /**
     * As transformers does with {@code return_assistant_tokens_mask}: renders the whole conversation once, locates
     * each assistant reply in the rendered text by character offsets, tokenizes the whole text once (so the tokens
     * are exactly those inference sees; tokenizing pieces separately would add SentencePiece's word-start marker at
     * every cut), and trains the tokens that overlap a trained reply. A reply's span runs from its text to the
     * template's end-of-turn special token (e.g. {@code <|eot_id|>}, {@code </s>}) when one follows; otherwise the
     * end-of-sequence token is inserted after it. Replies are searched for in order, each after the previous
     * message's text and, when the template renders conversations incrementally, after the generation prompt.
     */
    private void encodeChat(int index, List<ChatMessage> msgs, List<Long> ids, List<Boolean> target) {
        String full = template.render(msgs, false);
        List<int[]> replies = new ArrayList<>(); // {start, end, trained, eos after}
        int cursor = 0;
        for (int m = 0; m < msgs.size(); m++) {
            ChatMessage msg = msgs.get(m);
            if (!msg.role().equals("assistant")) {
                int[] at = locate(full, cursor, msg.content(), false);
                cursor = at == null ? cursor : at[1];
                continue;
            }
            boolean trained = msg.weight() > 0;
            if (trained) {
                requireTokens(index, tokenizer.encode(msg.content()));
            }
            String head = template.render(msgs.subList(0, m), true);
            boolean incremental = full.startsWith(head) && head.length() >= cursor;
            int[] at = locate(full, incremental ? head.length() : cursor, msg.content(), incremental);
            if (at == null) {
                throw new InvalidArgumentException("example " + index + ": the chat template changes assistant message "
                        + m + "'s text beyond trimming whitespace, so its tokens cannot be located in the rendered "
                        + "conversation");
            }
            int[] eot = EndOfTurn.find(full, at[1], tokenizer.specialTokens());
            int end = eot == null ? at[1] : eot[1];
            replies.add(new int[] {at[0], end, trained ? 1 : 0, eot == null && trained ? 1 : 0});
            cursor = end;
        }
        Tokenizer.Offsets enc = tokenizer.encodeWithOffsets(full);
        int r = 0;
        for (int i = 0; i < enc.ids().length; i++) {
            int start = enc.starts()[i];
            int end = Math.max(enc.ends()[i], start + 1);
            while (r < replies.size() && replies.get(r)[1] <= start) {
                closeReply(replies.get(r++), ids, target);
            }
            boolean inReply = r < replies.size() && start < replies.get(r)[1] && end > replies.get(r)[0];
            ids.add(enc.ids()[i]);
            target.add(inReply && replies.get(r)[2] == 1);
        }
        while (r < replies.size()) {
            closeReply(replies.get(r++), ids, target);
        }
    }

    /** After a trained reply whose template closes the turn with no special token, the end-of-sequence token. */
    private void closeReply(int[] reply, List<Long> ids, List<Boolean> target) {
        if (reply[3] == 1) {
            ids.add(eosId);
            target.add(true);
        }
    }

    /**
     * Where {@code content} (as written, else trimmed, as templates such as Llama-2's, Llama-3's and Gemma's apply
     * {@code |trim}) first occurs in {@code full} at or after {@code from}: {start, end}, or null. With
     * {@code adjacent}, only whitespace may come between {@code from} and the content.
     */
    private static int[] locate(String full, int from, String content, boolean adjacent) {
        for (String c : content.equals(content.strip()) ? List.of(content) : List.of(content, content.strip())) {
            if (c.isEmpty()) {
                continue;
            }
            int at = full.indexOf(c, from);
            if (at >= 0 && (!adjacent || full.substring(from, at).isBlank())) {
                return new int[] {at, at + c.length()};
            }
        }
        return null;
    }

    private static void requireTokens(int index, long[] completion) {
        if (completion.length == 0) {
            throw new InvalidArgumentException(
                    "example " + index + " has an empty completion after tokenization: nothing to learn");
        }
    }

    private static void append(List<Long> ids, List<Boolean> target, long[] add, boolean isTarget) {
        for (long id : add) {
            ids.add(id);
            target.add(isTarget);
        }
    }
}
