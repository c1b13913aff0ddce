package dev.rectify.cli;

import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterFiles;
import dev.rectify.eval.EvalReport;
import dev.rectify.eval.Evaluator;
import dev.rectify.eval.Problem;
import dev.rectify.eval.ProblemSet;
import dev.rectify.model.BaseModel;
import dev.rectify.model.TextModel;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code rectify eval}: exact-match accuracy and NLL of the base model or an adapter on a problem file. */
@Command(
        name = "eval",
        mixinStandardHelpOptions = true,
        description = {
            "Score the base model or an adapter on a JSONL of problems {\"prompt\", \"answer\", \"completion\"?}:",
            "exact match of the greedy 'Answer: N' line, and mean token NLL of the reference completions."
        })
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PROBLEMS.jsonl", description = "Problems with answers.")
    Path problems;

    @Option(
            names = {"-a", "--adapter"},
            description = "Adapter folder (default: the base model alone).")
    Path adapter;

    @Option(
            names = {"-m", "--model"},
            description = "Model folder. Default: the bundled model.")
    Path model;

    @Option(names = "--limit", defaultValue = "0", description = "Score only the first N problems (0: all).")
    int limit;

    @Option(
            names = "--batch-size",
            defaultValue = "16",
            description = "Prompts generated together (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(
            names = "--max-new-tokens",
            defaultValue = "192",
            description = "Longest answer (default ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--show", defaultValue = "0", description = "Print the first N answers.")
    int show;

    @Option(
            names = "--device",
            defaultValue = "cpu",
            description = "cpu, cpu:THREADS, cuda or cuda:ID (default ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() {
        List<Problem> all = ProblemSet.read(problems);
        List<Problem> set = limit > 0 ? all.subList(0, Math.min(limit, all.size())) : all;
        PrintWriter out = spec.commandLine().getOut();
        try (BaseModel base = Models.open(model, device)) {
            Adapter a = adapter == null ? null : AdapterFiles.read(adapter, base.contentHash());
            try (AdaptedModel am = a == null ? null : AdaptedModel.of(base, a);
                    ProgressDisplay bar =
                            new ProgressDisplay("eval", spec.commandLine().getErr())) {
                TextModel m = am == null ? base : am;
                EvalReport r = new Evaluator(batchSize, maxNewTokens).evaluate(m, set, n -> bar.count(n, set.size()));
                bar.close();
                for (int i = 0; i < Math.min(show, r.items().size()); i++) {
                    EvalReport.Item it = r.items().get(i);
                    out.printf(
                            "[%s] %s -> %s (expected %s)%n",
                            it.correct() ? "ok" : "xx", it.prompt(), it.answer(), it.expected());
                }
                out.printf(
                        "model: %s%n",
                        a == null ? "base " + base.directory().getFileName() : "adapter " + a.id().substring(0, 16));
                out.printf("exact match: %d/%d = %.3f%n", r.correct(), r.problems(), r.accuracy());
                out.printf(
                        "NLL of reference solutions: %s, token accuracy: %s%n", fmt(r.nll()), fmt(r.tokenAccuracy()));
            }
        }
        return 0;
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "n/a" : String.format("%.4f", v);
    }
}
