package dev.rectify.model;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.generate.TokenScorer;
import java.util.List;
import java.util.function.Consumer;

/** A model that writes text: a {@link BaseModel}, or one with an adapter applied ({@link dev.rectify.adapter.AdaptedModel}). */
public interface TextModel {
    /** Generates a completion of {@code prompt} (raw text, no chat template). */
    Generation generate(String prompt, Sampling sampling);

    /** Generates a completion of {@code prompt}, streaming text pieces to {@code onText}. */
    Generation generate(String prompt, Sampling sampling, Consumer<String> onText);

    /** Generates completions of several prompts in one batch (left-padded). */
    List<Generation> generate(List<String> prompts, Sampling sampling, TokenListener listener);

    /** Replies to a conversation, rendered with the model's chat template. */
    Generation chat(List<ChatMessage> messages, Sampling sampling, Consumer<String> onText);

    /**
     * Teacher-forced scores of each example's trained tokens (tokenized exactly as for fine-tuning): per-token
     * probabilities, hence NLL and token accuracy.
     */
    List<TokenScorer.Scores> score(List<Example> examples);

    /** The base model (tokenizer, chat template, config). */
    BaseModel baseModel();
}
