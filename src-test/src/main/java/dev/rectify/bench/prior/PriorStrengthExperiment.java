package dev.rectify.bench.prior;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.Rectify;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.ContentHash;
import dev.rectify.data.JsonlDataset;
import dev.rectify.eval.EvalReport;
import dev.rectify.eval.Evaluator;
import dev.rectify.eval.Problem;
import dev.rectify.eval.ProblemSet;
import dev.rectify.model.BaseModel;
import dev.rectify.model.TextModel;
import dev.rectify.ort.Device;
import dev.rectify.train.FineTuneOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The prior-strength experiment (docs/experiments/prior-strength.md): does DFT generalise better than SFT, and does
 * that depend on how strong a prior the base model has for the task? For each base of graded pretraining budget
 * ({@link PriorBase}), each method gets the same learning-rate search (chosen by exact match on the validation
 * problems at the first seed), then runs at every seed; every run is evaluated in distribution, near and far out of
 * distribution. Each run's outcome is cached under the work folder, so an interrupted experiment resumes where it
 * stopped. {@link PriorStrengthReport} turns the runs into tables, paired tests and plots.
 * <pre>java -cp ... dev.rectify.bench.prior.PriorStrengthExperiment --out docs/experiments/prior-strength</pre>
 */
public final class PriorStrengthExperiment {
    private final ExperimentSettings settings;
    private final ObjectMapper json = new ObjectMapper();

    PriorStrengthExperiment(ExperimentSettings settings) {
        this.settings = settings;
    }

    public static void main(String[] args) throws Exception {
        ExperimentSettings s = ExperimentSettings.parse(args);
        long t0 = System.nanoTime();
        new PriorStrengthExperiment(s).run();
        System.out.printf("done in %.1f min%n", (System.nanoTime() - t0) / 60e9);
    }

    /** Runs (or resumes) every base, method, learning rate and seed, then writes the report into the output folder. */
    public ExperimentResults run() throws IOException, InterruptedException {
        ExperimentSettings s = settings;
        List<Example> train = limit(JsonlDataset.read(s.data().resolve("train.jsonl")), s.trainLimit());
        Map<String, List<Problem>> sets = new LinkedHashMap<>();
        sets.put(ExperimentResults.IN, limit(ProblemSet.read(s.data().resolve("heldout.jsonl")), s.evalLimit()));
        sets.put(ExperimentResults.NEAR, limit(ProblemSet.read(s.data().resolve("near_ood.jsonl")), s.evalLimit()));
        sets.put(ExperimentResults.FAR, limit(ProblemSet.read(s.data().resolve("ood.jsonl")), s.evalLimit()));
        List<Problem> valid = limit(ProblemSet.read(s.data().resolve("valid.jsonl")), s.evalLimit());
        List<Example> probe = train.subList(0, Math.min(100, train.size()));
        Path runs = s.work()
                .resolve("runs")
                .resolve(ContentHash.of(s.resultKey() + dataKey(s.data())).substring(0, 12));
        AdapterStore store = AdapterStore.open(s.work().resolve("adapters"));
        Evaluator ev = new Evaluator(20, s.maxNewTokens());
        ExperimentResults results = new ExperimentResults(s);
        long t0 = System.nanoTime();
        for (String name : s.bases()) {
            PriorBase base = PriorBase.named(name, s.bundled());
            Path dir = base.resolve(s.work(), s.recipe(), s.threads());
            results.addBase(base, dir);
            try (BaseModel model = BaseModel.open(dir, Device.cpu(s.threads()))) {
                ObjectNode baseRun =
                        cached(runs.resolve(name).resolve("base.json"), () -> evaluation(model, sets, null));
                results.addRun(name, "base", 0, 0, baseRun);
                results.addProbabilities(name, "base", Evaluator.targetProbabilities(model, probe));
                for (Objective method : s.methods()) {
                    String label = ExperimentResults.label(method);
                    double best = search(model, train, valid, method, runs.resolve(name), store, ev, results, name);
                    for (int i = 0; i < s.seeds(); i++) {
                        long seed = ExperimentSettings.FIRST_SEED + i;
                        Path file = runs.resolve(name).resolve(label + "-s" + seed + "-lr" + best + ".json");
                        ObjectNode run = cached(file, () -> {
                            Adapter a = fineTune(model, train, method, seed, best, store);
                            try (AdaptedModel m = AdaptedModel.of(model, a)) {
                                return evaluation(m, sets, a);
                            }
                        });
                        results.addRun(name, label, seed, best, run);
                        if (i == 0) {
                            Adapter a = fineTune(model, train, method, seed, best, store);
                            try (AdaptedModel m = AdaptedModel.of(model, a)) {
                                results.addProbabilities(name, label, Evaluator.targetProbabilities(m, probe));
                            }
                        }
                        System.out.printf(
                                "%s %s seed %d lr %.0e: %s (%.1f min)%n",
                                name, label, seed, best, summary(run), (System.nanoTime() - t0) / 60e9);
                    }
                }
            }
        }
        results.put("minutes_this_invocation", (System.nanoTime() - t0) / 60e9);
        new PriorStrengthReport(results).write(s.out());
        return results;
    }

    /** The learning rate with the best validation exact match at the first seed (ties: the lower validation NLL). */
    private double search(
            BaseModel model,
            List<Example> train,
            List<Problem> valid,
            Objective method,
            Path dir,
            AdapterStore store,
            Evaluator ev,
            ExperimentResults results,
            String base)
            throws IOException {
        String label = ExperimentResults.label(method);
        double best = Double.NaN;
        double bestScore = Double.NEGATIVE_INFINITY;
        double bestNll = Double.POSITIVE_INFINITY;
        for (double lr : settings.learningRates()) {
            long seed = ExperimentSettings.FIRST_SEED;
            ObjectNode r = cached(dir.resolve("search-" + label + "-lr" + lr + ".json"), () -> {
                Adapter a = fineTune(model, train, method, seed, lr, store);
                try (AdaptedModel m = AdaptedModel.of(model, a)) {
                    EvalReport v = ev.evaluate(m, valid);
                    ObjectNode n = json.createObjectNode();
                    n.put("exact_match", v.accuracy());
                    n.put("nll", v.nll());
                    return n;
                }
            });
            results.addSearch(base, label, lr, r);
            double em = r.path("exact_match").asDouble();
            double nll = r.path("nll").asDouble();
            if (em > bestScore || (em == bestScore && nll < bestNll)) {
                best = lr;
                bestScore = em;
                bestNll = nll;
            }
        }
        return best;
    }

    private Adapter fineTune(
            BaseModel model, List<Example> train, Objective method, long seed, double lr, AdapterStore store) {
        FineTuneOptions options = FineTuneOptions.builder()
                .objective(method)
                .lora(settings.loraRank(), 2 * settings.loraRank())
                .epochs(settings.epochs())
                .learningRate(lr)
                .seed(seed)
                .evalFraction(0.05)
                .build();
        return Rectify.fineTune(model, train, options, store);
    }

    private ObjectNode evaluation(TextModel m, Map<String, List<Problem>> sets, Adapter a) {
        Evaluator ev = new Evaluator(20, settings.maxNewTokens());
        ObjectNode n = json.createObjectNode();
        sets.forEach((name, problems) -> {
            EvalReport r = ev.evaluate(m, problems);
            ObjectNode set = n.putObject(name);
            set.put("exact_match", r.accuracy());
            set.put("nll", r.nll());
            var correct = set.putArray("correct");
            r.items().forEach(item -> correct.add(item.correct() ? 1 : 0));
        });
        if (a != null) {
            n.put("train_seconds", a.result().orElseThrow().duration().toMillis() / 1000.0);
            n.put("adapter", a.id());
        }
        return n;
    }

    private interface Run {
        ObjectNode get() throws IOException;
    }

    /** The run's outcome from {@code file}, or computed and written there atomically. */
    private ObjectNode cached(Path file, Run run) throws IOException {
        if (Files.isRegularFile(file)) {
            return (ObjectNode) json.readTree(file.toFile());
        }
        ObjectNode n = run.get();
        Files.createDirectories(file.getParent());
        AtomicFile.write(file, json.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
        return n;
    }

    private static String summary(ObjectNode run) {
        StringBuilder b = new StringBuilder();
        run.fields().forEachRemaining(e -> {
            if (e.getValue().has("exact_match")) {
                b.append(String.format(
                        "%s EM %.2f  ",
                        e.getKey(), e.getValue().path("exact_match").asDouble()));
            }
        });
        return b.toString().strip();
    }

    private static String dataKey(Path data) throws IOException {
        StringBuilder b = new StringBuilder();
        for (String f : List.of("train.jsonl", "heldout.jsonl", "near_ood.jsonl", "ood.jsonl", "valid.jsonl")) {
            b.append(ContentHash.of(Files.readAllBytes(data.resolve(f))));
        }
        return b.toString();
    }

    private static <T> List<T> limit(List<T> list, int n) {
        return n > 0 && n < list.size() ? new ArrayList<>(list.subList(0, n)) : list;
    }
}
