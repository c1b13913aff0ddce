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
abstract class TextGeneration implements TextModel {
    abstract BaseModel base();

    abstract Generator generatorForText();

    abstract dev.rectify.generate.TokenScorer scorer();

    @Override
    public BaseModel baseModel() {
        return base();
    }

    @Override
    public List<dev.rectify.generate.TokenScorer.Scores> score(List<Example> examples) {
        BaseModel b = base();
        int max = b.contextLength() > 0 ? b.contextLength() : 4096;
        var encoder = FineTuneRun.encoder(b, FineTuneOptions.builder().maxSeqLength(max).build());
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
        return generate(prompt, sampling, t -> { });
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
