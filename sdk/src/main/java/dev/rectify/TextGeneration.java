package dev.rectify;

import dev.rectify.generate.Generation;
import dev.rectify.generate.Generator;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/** Text in, text out over a {@link Generator}: what {@link BaseModel} and {@link AdaptedModel} share. */
abstract class TextGeneration {
    abstract BaseModel base();

    abstract Generator generatorForText();

    /** Generates a completion of {@code prompt} (raw text, no chat template). */
    public Generation generate(String prompt, Sampling sampling) {
        return generate(prompt, sampling, t -> { });
    }

    /** Generates a completion of {@code prompt}, streaming text pieces to {@code onText}. */
    public Generation generate(String prompt, Sampling sampling, Consumer<String> onText) {
        return generate(List.of(prompt), sampling, (i, t) -> onText.accept(t)).get(0);
    }

    /** Generates completions of several prompts in one batch (left-padded). */
    public List<Generation> generate(List<String> prompts, Sampling sampling, TokenListener listener) {
        List<long[]> ids = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            ids.add(base().tokenizer().encode(Objects.requireNonNull(p, "prompt")));
        }
        return generatorForText().generate(ids, sampling, listener, null);
    }

    /** Replies to a conversation, rendered with the model's chat template. */
    public Generation chat(List<ChatMessage> messages, Sampling sampling, Consumer<String> onText) {
        return generate(base().applyChatTemplate(messages, true), sampling, onText);
    }
}
