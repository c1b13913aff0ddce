package dev.rectify.core;

import java.util.Objects;

/**
 * One message of a conversation. {@code weight} says whether an assistant message is trained (1) or context only
 * (0), as in OpenAI's fine-tuning format; it is ignored at inference.
 */
public record ChatMessage(String role, String content, double weight) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.isBlank()) {
            throw new InvalidArgumentException("a chat message needs a role (system, user or assistant)");
        }
        if (weight != 0 && weight != 1) {
            throw new InvalidArgumentException("message weight must be 0 (context only) or 1 (trained), got " + weight);
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
