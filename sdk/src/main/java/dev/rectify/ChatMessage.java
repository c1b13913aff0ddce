package dev.rectify;

import java.util.Objects;

/**
 * One message of a conversation. {@code weight} is the training weight of an assistant message (1 trains it,
 * 0 masks it, as in OpenAI's fine-tuning format); it is ignored at inference.
 */
public record ChatMessage(String role, String content, double weight) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.isBlank()) {
            throw new InvalidArgumentException("a chat message needs a role (system, user or assistant)");
        }
        if (!(weight >= 0 && weight <= 1)) {
            throw new InvalidArgumentException("message weight must be in [0, 1], got " + weight);
        }
    }

    public ChatMessage(String role, String content) {
        this(role, content, 1.0);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
