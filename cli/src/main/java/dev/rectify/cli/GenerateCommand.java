package dev.rectify.cli;

import dev.rectify.adapter.AdaptedModel;
import dev.rectify.core.ChatMessage;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.model.BaseModel;
import dev.rectify.model.TextModel;
import dev.rectify.ort.Device;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code rectify generate}: stream a completion from a model to the terminal. */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Generate text with a model (the bundled one by default), streaming tokens as they come.")
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = {"-p", "--prompt"},
            required = true,
            description = "The prompt text.")
    String prompt;

    @Option(
            names = {"-m", "--model"},
            description = "Model folder (model.onnx, tokenizer.json, ...). Default: the bundled model.")
    Path model;

    @Option(
            names = {"-a", "--adapter"},
            description = "Adapter folder, or the id (or an 8+ digit id prefix) of an adapter in the store.")
    String adapter;

    @Option(names = "--chat", description = "Wrap the prompt as a user message with the model's chat template.")
    boolean chat;

    // Sampling options left out take the model's generation_config.json values (greedy, 128 tokens without one).
    @Option(
            names = {"-n", "--max-new-tokens"},
            description = "Most tokens to generate (default: the model's " + "generation_config.json, else 128).")
    Integer maxNewTokens;

    @Option(
            names = {"-t", "--temperature"},
            description = "0 = greedy; > 0 samples (default: the model's " + "generation_config.json, else greedy).")
    Double temperature;

    @Option(names = "--top-k", description = "Sample among the k most likely tokens (0 = all; default: the model's).")
    Integer topK;

    @Option(names = "--top-p", description = "Nucleus sampling mass (1 = off; default: the model's).")
    Double topP;

    @Option(
            names = {"-s", "--seed"},
            defaultValue = "0",
            description = "Sampling seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--stop", description = "Stop string (repeatable).")
    List<String> stop = List.of();

    @Option(
            names = "--device",
            defaultValue = "cpu",
            description = "cpu, cpu:THREADS, cuda or cuda:ID (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--stats", description = "Print token counts and speed to stderr at the end.")
    boolean stats;

    @Override
    public Integer call() {
        Device dev = Device.parse(device);
        PrintWriter out = spec.commandLine().getOut();
        try (BaseModel base = Models.open(model, dev);
                AdaptedModel adapted =
                        adapter == null ? null : AdaptedModel.of(base, AdapterArgument.resolve(adapter, base))) {
            TextModel m = adapted != null ? adapted : base;
            Sampling d = base.defaultSampling();
            Sampling sampling = Sampling.sample(temperature != null ? temperature : d.temperature())
                    .topK(topK != null ? topK : d.topK())
                    .topP(topP != null ? topP : d.topP())
                    .seed(seed)
                    .maxNewTokens(maxNewTokens != null ? maxNewTokens : d.maxNewTokens())
                    .stop(stop);
            long start = System.nanoTime();
            Generation g = chat
                    ? m.chat(List.of(ChatMessage.user(prompt)), sampling, t -> {
                        out.print(t);
                        out.flush();
                    })
                    : m.generate(prompt, sampling, t -> {
                        out.print(t);
                        out.flush();
                    });
            out.println();
            out.flush();
            if (stats) {
                double s = (System.nanoTime() - start) / 1e9;
                spec.commandLine()
                        .getErr()
                        .printf(
                                "[%d prompt tokens, %d new tokens, %.2f s, %.1f tokens/s, finish: %s]%n",
                                g.promptTokens(), g.completionTokens(), s, g.completionTokens() / s, g.finishReason());
            }
        }
        return 0;
    }
}
