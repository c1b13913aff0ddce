package com.example.hello;

import dev.rectify.Rectify;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.model.BaseModel;
import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.core.Objective;
import dev.rectify.generate.Sampling;
import java.util.ArrayList;
import java.util.List;

/** Fine-tunes Rectify's bundled model briefly with DFT on a few sums, then answers a question with the adapter. */
public final class HelloRectify {
    public static void main(String[] args) {
        List<Example> examples = new ArrayList<>();
        for (int a = 2; a < 14; a++) {
            for (int b : new int[] {3, 5, 8}) {
                examples.add(Example.of("What is " + a + " + " + b + "?",
                        " " + a + " + " + b + " = " + (a + b) + ". The answer is " + (a + b) + "."));
            }
        }
        FineTuneOptions options = FineTuneOptions.builder().objective(Objective.DFT).lora(8, 16).maxSteps(20)
                .learningRate(5e-3).seed(7).build();
        try (BaseModel base = BaseModel.bundled()) {
            Adapter adapter = Rectify.fineTune(base, examples, options);
            var result = adapter.result().orElseThrow();
            System.out.printf("fine-tuned %s: %d steps, held-out NLL %.4f -> %.4f%n", adapter.id().substring(0, 12),
                    result.steps(), result.initialEval().nll(), result.finalEval().nll());
            try (AdaptedModel model = AdaptedModel.of(base, adapter)) {
                System.out.print("What is 9 + 5? -> ");
                model.chat(List.of(ChatMessage.user("What is 9 + 5?")), Sampling.greedy().maxNewTokens(32), System.out::print);
                System.out.println();
            }
        }
    }
}
