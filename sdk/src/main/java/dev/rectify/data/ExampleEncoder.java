package dev.rectify.data;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.core.InvalidArgumentException;
import dev.rectify.generate.ChatTemplate;
import dev.rectify.generate.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokenizes examples for training. With a chat template, a prompt/completion pair is the conversation
 * [user: prompt, assistant: completion]; every trained assistant message contributes its content tokens plus the
 * end-of-sequence token as targets, and everything else (system, user, untrained assistant turns, the template's
 * markup) is context. Without a template the prompt and completion are concatenated as raw text, followed by the
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

    /**
     * @param template the chat template, or null to concatenate raw text
     * @param eosId    the end-of-sequence id appended after each completion
     */
    public ExampleEncoder(Tokenizer tokenizer, ChatTemplate template, long eosId, int maxLength) {
        if (maxLength < 2) {
            throw new InvalidArgumentException("maxLength must be >= 2, got " + maxLength);
        }
        this.tokenizer = tokenizer;
        this.template = template;
        this.eosId = eosId;
        this.maxLength = maxLength;
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
            List<ChatMessage> msgs = ex.asMessages();
            String rendered = "";
            for (int m = 0; m < msgs.size(); m++) {
                ChatMessage msg = msgs.get(m);
                boolean trained = msg.role().equals("assistant") && msg.weight() > 0;
                if (msg.role().equals("assistant")) {
                    // context up to where the assistant's reply starts
                    String head = template.render(msgs.subList(0, m), true);
                    append(ids, target, tokenizer.encode(suffix(head, rendered, index)), false);
                    long[] content = tokenizer.encode(msg.content());
                    if (trained) {
                        requireTokens(index, content);
                    }
                    append(ids, target, content, trained);
                    String full = template.render(msgs.subList(0, m + 1), false);
                    String after = suffix(full, head + msg.content(), index);
                    // the closing markup: its first token is the end-of-sequence token, trained with the reply
                    long[] close = tokenizer.encode(after);
                    for (int k = 0; k < close.length; k++) {
                        ids.add(close[k]);
                        target.add(trained && k == 0 && close[k] == eosId);
                    }
                    if (trained && (close.length == 0 || close[0] != eosId)) {
                        ids.add(eosId);
                        target.add(true);
                    }
                    rendered = full;
                } else if (m == msgs.size() - 1) {
                    String full = template.render(msgs, false);
                    append(ids, target, tokenizer.encode(suffix(full, rendered, index)), false);
                    rendered = full;
                }
            }
        }
        int n = Math.min(ids.size(), maxLength);
        long[] outIds = new long[n];
        boolean[] outTarget = new boolean[n];
        int targets = 0;
        for (int i = 0; i < n; i++) {
            outIds[i] = ids.get(i);
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

    private static String suffix(String full, String prefix, int index) {
        if (!full.startsWith(prefix)) {
            throw new InvalidArgumentException("example " + index + ": the chat template does not render conversations "
                    + "incrementally (a longer conversation does not start with the shorter one's text), so targets "
                    + "cannot be located");
        }
        return full.substring(prefix.length());
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
