package dev.rectify.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.model.BaseModel;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Refuses prompts too long for the context window before they are tokenized: no vocabulary entry (nor added token)
 * of the tokenizer is longer than {@code maxTokenBytes} bytes in UTF-8, and each entry stands for at most that many
 * bytes of text, so a prompt of {@code n} bytes is at least {@code ceil(n / maxTokenBytes)} tokens. A prompt whose
 * lower bound already fills the context is refused at once; others are tokenized (on the generation pool) and
 * checked exactly.
 */
@Singleton
public class PromptLimit {
    private final int contextLength;
    private final int maxTokenBytes;

    public PromptLimit(BaseModel base) {
        this.contextLength = base.contextLength();
        this.maxTokenBytes = longestEntry(base.tokenizer().file());
    }

    /** The longest vocabulary entry or added token of a tokenizer.json, in UTF-8 bytes. */
    static int longestEntry(Path tokenizerJson) {
        JsonNode t;
        try {
            t = Json.MAPPER.readTree(Files.readAllBytes(tokenizerJson));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + tokenizerJson + ": " + e.getMessage(), e);
        }
        int longest = 1;
        JsonNode vocab = t.path("model").path("vocab");
        if (vocab.isObject()) {
            for (var names = vocab.fieldNames(); names.hasNext(); ) {
                longest = Math.max(longest, names.next().getBytes(StandardCharsets.UTF_8).length);
            }
        } else if (vocab.isArray()) { // Unigram: [[piece, score], ...]
            for (JsonNode e : vocab) {
                longest = Math.max(longest, e.path(0).asText("").getBytes(StandardCharsets.UTF_8).length);
            }
        }
        for (JsonNode a : t.path("added_tokens")) {
            longest = Math.max(longest, a.path("content").asText("").getBytes(StandardCharsets.UTF_8).length);
        }
        return longest;
    }

    /** A 400 (context_length_exceeded) if {@code prompt} cannot fit the context whatever its tokens. */
    public void checkBeforeTokenizing(String prompt, String param) {
        if (contextLength <= 0) {
            return;
        }
        long bytes = utf8Length(prompt);
        long atLeast = (bytes + maxTokenBytes - 1) / maxTokenBytes;
        if (atLeast >= contextLength) {
            throw ApiException.invalid(
                    param,
                    "context_length_exceeded",
                    "the prompt is at least " + atLeast + " tokens (" + bytes
                            + " bytes); this model's context window is " + contextLength + " tokens");
        }
    }

    /** A 400 (context_length_exceeded) if the tokenized prompt leaves no room for a new token. */
    public void checkTokens(int promptTokens, String param) {
        if (contextLength > 0 && promptTokens >= contextLength) {
            throw ApiException.invalid(
                    param,
                    "context_length_exceeded",
                    "the prompt is " + promptTokens + " tokens; this model's context window is " + contextLength
                            + " tokens");
        }
    }

    private static long utf8Length(String s) {
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
