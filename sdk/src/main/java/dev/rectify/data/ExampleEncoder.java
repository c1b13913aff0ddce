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
            throw new InvalidArgumentException("the end-of-sequence id " + eosId + " is outside the model's vocabulary of "
                    + vocabSize + " tokens");
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
                throw new InvalidArgumentException("example " + index + " is a conversation but the model has no chat template");
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
                    + maxLength + " tokens (its prompt alone is " + countContext(target) + " tokens): shorten the prompt "
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
     * Renders the whole conversation once; for each assistant message, everything the model writes after the
     * generation prompt (its reply and the template's end-of-turn special token, e.g. {@code <|eot_id|>}) is the
     * span it is trained on, and everything else is context.
     */
    private void encodeChat(int index, List<ChatMessage> msgs, List<Long> ids, List<Boolean> target) {
        String full = template.render(msgs, false);
        int cursor = 0;
        for (int m = 0; m < msgs.size(); m++) {
            ChatMessage msg = msgs.get(m);
            if (!msg.role().equals("assistant")) {
                continue;
            }
            boolean trained = msg.weight() > 0;
            if (trained) {
                requireTokens(index, tokenizer.encode(msg.content()));
            }
            String head = template.render(msgs.subList(0, m), true);
            if (!full.startsWith(head) || head.length() < cursor) {
                throw new InvalidArgumentException("example " + index + ": the chat template does not render "
                        + "conversations incrementally (the conversation up to message " + m + " with a generation prompt "
                        + "is not a prefix of the whole conversation), so targets cannot be located");
            }
            int contentEnd = contentEnd(full, head.length(), msg.content());
            if (contentEnd < 0) {
                throw new InvalidArgumentException("example " + index + ": the chat template changes assistant message "
                        + m + "'s text beyond trimming whitespace, so its tokens cannot be located in the rendered "
                        + "conversation");
            }
            int[] eot = EndOfTurn.find(full, contentEnd, tokenizer.specialTokens());
            int replyEnd = eot == null ? contentEnd : eot[1];
            append(ids, target, tokenizer.encode(full.substring(cursor, head.length())), false);
            long[] reply = tokenizer.encode(full.substring(head.length(), replyEnd));
            append(ids, target, reply, trained);
            if (eot == null && trained) {
                // the template closes the turn without a special token: the end-of-sequence token ends the reply
                ids.add(eosId);
                target.add(true);
            }
            cursor = replyEnd;
        }
        append(ids, target, tokenizer.encode(full.substring(cursor)), false);
    }

    // Where the assistant's text ends in the render, searching from the generation prompt: as written, or trimmed
    // (templates such as Llama-3's and Gemma's apply |trim); -1 when it is not there.
    private static int contentEnd(String full, int from, String content) {
        int at = full.indexOf(content, from);
        if (at >= 0 && full.substring(from, at).isBlank()) {
            return at + content.length();
        }
        String trimmed = content.strip();
        at = full.indexOf(trimmed, from);
        if (at >= 0 && full.substring(from, at).isBlank()) {
            return at + trimmed.length();
        }
        return -1;
    }

    private static void requireTokens(int index, long[] completion) {
        if (completion.length == 0) {
            throw new InvalidArgumentException("example " + index + " has an empty completion after tokenization: nothing to learn");
        }
    }

    private static void append(List<Long> ids, List<Boolean> target, long[] add, boolean isTarget) {
        for (long id : add) {
            ids.add(id);
            target.add(isTarget);
        }
    }
}
