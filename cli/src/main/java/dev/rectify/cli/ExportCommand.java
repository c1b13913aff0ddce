package dev.rectify.cli;

import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterExport;
import dev.rectify.model.BaseModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rectify export}: an adapter as a PEFT folder, an ONNX Runtime adapter with its serving model, or a merged model. */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        description = {
            "Export an adapter for use outside Rectify:",
            "  peft          adapter_config.json + adapter_model.safetensors (Hugging Face PEFT)",
            "  onnx-adapter  the base's ONNX exports with LoRA inputs + adapter.onnx_adapter (ONNX Runtime's LoRA API)",
            "  merged        the base model with the adapter folded into its weights (any ONNX runtime)"
        })
final class ExportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "ADAPTER",
            description = "Adapter folder, or the id (or an 8+ digit id prefix) of an adapter in the store.")
    String adapter;

    @Option(
            names = {"-f", "--format"},
            required = true,
            description = "peft, onnx-adapter or merged.")
    String format;

    @Option(
            names = {"-o", "--out"},
            required = true,
            description = "Output folder (created, or replaced as a whole).")
    Path out;

    @Option(
            names = {"-m", "--model"},
            description = "The base model folder the adapter was trained on. Default: the bundled model.")
    Path model;

    @Option(
            names = "--base-model-name-or-path",
            description = {
                "PEFT only: the base's Hugging Face id or path to record.",
                "Default: _name_or_path from the base's config.json, else the base folder."
            })
    String baseName;

    @Override
    public Integer call() {
        AdapterExport.Format f = AdapterExport.Format.parse(format);
        PrintWriter o = spec.commandLine().getOut();
        try (BaseModel base = Models.open(model, "cpu")) {
            Adapter a = AdapterArgument.resolve(adapter, base);
            Path written = AdapterExport.write(base, a, f, out, baseName);
            o.printf(
                    "adapter %s exported as %s to %s%n",
                    a.id().substring(0, 16), f.name().toLowerCase().replace('_', '-'), written);
        }
        o.flush();
        return 0;
    }
}
