package dev.rectify.model;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Generator;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.generate.TokenScorer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/** Text in, text out over a {@link Generator}: what a base model and a model with an adapter share. */
public abstract class TextGeneration implements TextModel {
    /** The base model whose tokenizer and chat template this model uses. */
    protected abstract BaseModel base();

    /** The generator that runs this model's session. */
    protected abstract Generator generatorForText();

    /** The scorer over this model's full-sequence session. */
    protected abstract TokenScorer scorer();

    @Override
    public BaseModel baseModel() {
        return base();
    }

    @Override
    public List<TokenScorer.Scores> score(List<Example> examples) {
        BaseModel b = base();
        int max = b.contextLength() > 0 ? b.contextLength() : 4096;
        var encoder = b.exampleEncoder(max);
        List<long[]> ids = new ArrayList<>();
        List<boolean[]> targets = new ArrayList<>();
        for (var e : encoder.encodeAll(examples)) {
            ids.add(e.ids());
            targets.add(e.target());
        }
        return scorer().score(ids, targets, 8);
    }

    @Override
    public Generation generate(String prompt, Sampling sampling) {
        return generate(prompt, sampling, t -> {});
    }

    @Override
    public Generation generate(String prompt, Sampling sampling, Consumer<String> onText) {
        return generate(List.of(prompt), sampling, (i, t) -> onText.accept(t)).get(0);
    }

    @Override
    public List<Generation> generate(List<String> prompts, Sampling sampling, TokenListener listener) {
        List<long[]> ids = new ArrayList<>(prompts.size());
        for (String p : prompts) {
            ids.add(base().encodePrompt(Objects.requireNonNull(p, "prompt")));
        }
        return generatorForText().generate(ids, sampling, listener, null);
    }

    @Override
    public Generation chat(List<ChatMessage> messages, Sampling sampling, Consumer<String> onText) {
        return generate(base().applyChatTemplate(messages, true), sampling, onText);
    }
}
