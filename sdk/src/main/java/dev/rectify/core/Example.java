package dev.rectify.core;

import java.util.List;
import java.util.Objects;

/**
 * One demonstration: either a prompt and its completion (the completion and the end-of-sequence token are
 * trained, the prompt is context), or a conversation whose assistant messages are trained (those with weight 0
 * are context only, as in OpenAI's fine-tuning format).
 */
public record Example(String prompt, String completion, List<ChatMessage> messages) {
    public Example {
        if (messages == null) {
            Objects.requireNonNull(prompt, "prompt");
            Objects.requireNonNull(completion, "completion");
        } else {
            if (prompt != null || completion != null) {
                throw new InvalidArgumentException("an example is either prompt/completion or messages, not both");
            }
            messages = List.copyOf(messages);
            if (messages.isEmpty()) {
                throw new InvalidArgumentException("a conversation example needs messages");
            }
            if (messages.stream().noneMatch(m -> m.role().equals("assistant") && m.weight() > 0)) {
                throw new InvalidArgumentException(
                        "a conversation example needs at least one assistant message with weight > 0");
            }
        }
    }

    /** A prompt and the completion to learn. */
    public static Example of(String prompt, String completion) {
        return new Example(prompt, completion, null);
    }

    /** A conversation; its assistant messages (weight > 0) are learned. */
    public static Example chat(List<ChatMessage> messages) {
        return new Example(null, null, messages);
    }

    /** Whether this is a conversation example. */
    public boolean isChat() {
        return messages != null;
    }

    /** The conversation form: prompt/completion becomes [user: prompt, assistant: completion]. */
    public List<ChatMessage> asMessages() {
        return isChat() ? messages : List.of(ChatMessage.user(prompt), ChatMessage.assistant(completion));
    }
}
