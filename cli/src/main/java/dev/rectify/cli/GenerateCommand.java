package dev.rectify.cli;

import dev.rectify.AdaptedModel;
import dev.rectify.BaseModel;
import dev.rectify.ChatMessage;
import dev.rectify.Device;
import dev.rectify.TextModel;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code rectify generate}: stream a completion from a model to the terminal. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text with a model (the bundled one by default), streaming tokens as they come.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-p", "--prompt"}, required = true, description = "The prompt text.")
    String prompt;

    @Option(names = {"-m", "--model"}, description = "Model folder (model.onnx, tokenizer.json, ...). Default: the bundled model.")
    Path model;

    @Option(names = {"-a", "--adapter"}, description = "Adapter folder, or the id (or an 8+ digit id prefix) of an adapter in the store.")
    String adapter;

    @Option(names = "--chat", description = "Wrap the prompt as a user message with the model's chat template.")
    boolean chat;

    @Option(names = {"-n", "--max-new-tokens"}, defaultValue = "128", description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = {"-t", "--temperature"}, defaultValue = "0", description = "0 = greedy (default); > 0 samples.")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k most likely tokens (0 = all).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass (1 = off).")
    double topP;

    @Option(names = {"-s", "--seed"}, defaultValue = "0", description = "Sampling seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", description = "Stop string (repeatable).")
    List<String> stop = List.of();

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cpu:THREADS, cuda or cuda:ID (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--stats", description = "Print token counts and speed to stderr at the end.")
    boolean stats;

    @Override
    public Integer call() {
        Sampling sampling = Sampling.sample(temperature).topK(topK).topP(topP).seed(seed).maxNewTokens(maxNewTokens).stop(stop);
        Device dev = Device.parse(device);
        PrintWriter out = spec.commandLine().getOut();
        try (BaseModel base = Models.open(model, dev);
                AdaptedModel adapted = adapter == null ? null : base.with(AdapterArgument.resolve(adapter, base))) {
            TextModel m = adapted != null ? adapted : base;
            long start = System.nanoTime();
            Generation g = chat ? m.chat(List.of(ChatMessage.user(prompt)), sampling, t -> { out.print(t); out.flush(); })
                    : m.generate(prompt, sampling, t -> { out.print(t); out.flush(); });
            out.println();
            out.flush();
            if (stats) {
                double s = (System.nanoTime() - start) / 1e9;
                spec.commandLine().getErr().printf("[%d prompt tokens, %d new tokens, %.2f s, %.1f tokens/s, finish: %s]%n",
                        g.promptTokens(), g.completionTokens(), s, g.completionTokens() / s, g.finishReason());
            }
        }
        return 0;
    }
}
