package dev.rectify.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.Rectify;
import dev.rectify.adapter.AdaptedModel;
import dev.rectify.adapter.Adapter;
import dev.rectify.adapter.AdapterStore;
import dev.rectify.cli.Charts;
import dev.rectify.core.Example;
import dev.rectify.core.Objective;
import dev.rectify.data.JsonlDataset;
import dev.rectify.eval.EvalReport;
import dev.rectify.eval.Evaluator;
import dev.rectify.eval.Problem;
import dev.rectify.eval.ProblemSet;
import dev.rectify.model.BaseModel;
import dev.rectify.model.TextModel;
import dev.rectify.ort.Device;
import dev.rectify.train.FineTuneOptions;
import dev.rectify.train.TrainingProgress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DFT-versus-SFT experiment on the bundled model: base, SFT, DFT and clamped DFT (LoRA r=16, 2 epochs) over
 * several seeds, plus a learning-rate sweep, evaluated by exact match and NLL in and out of distribution, with the
 * token-probability histograms of the paper's analysis. Writes results.json and plots into the output folder.
 * <pre>java -cp ... dev.rectify.bench.DftVsSftExperiment --out docs/experiments/dft-vs-sft [--seeds 42,43,44]</pre>
 */
public final class DftVsSftExperiment {
    public static void main(String[] args) throws Exception {
        Path out = Path.of("docs/experiments/dft-vs-sft");
        Path data = Path.of("data/math");
        List<Long> seeds = List.of(42L, 43L, 44L);
        List<Double> sweep = List.of(2e-4, 1e-3);
        double lr = 5e-4;
        int threads = 2;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--data" -> data = Path.of(args[++i]);
                case "--seeds" ->
                    seeds = Arrays.stream(args[++i].split(","))
                            .map(Long::parseLong)
                            .toList();
                case "--sweep" ->
                    sweep = Arrays.stream(args[++i].split(","))
                            .map(Double::parseDouble)
                            .toList();
                case "--lr" -> lr = Double.parseDouble(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException(args[i]);
            }
        }
        Files.createDirectories(out);
        List<Example> train = JsonlDataset.read(data.resolve("train.jsonl"));
        Map<String, List<Problem>> sets = new LinkedHashMap<>();
        sets.put("held-out", ProblemSet.read(data.resolve("heldout.jsonl")));
        sets.put("ood", ProblemSet.read(data.resolve("ood.jsonl")));
        List<Example> probe = train.subList(0, 100);
        Evaluator ev = new Evaluator(20, 512);
        AdapterStore store = AdapterStore.open(Files.createTempDirectory("experiment-store"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ArrayNode runs = root.putArray("runs");
        Map<String, double[]> probs = new LinkedHashMap<>();
        Map<String, List<TrainingProgress>> curves = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        try (BaseModel base = BaseModel.bundled(Device.cpu(threads))) {
            record(runs, "base", 0, 0, evaluate(base, sets, ev), null);
            probs.put("base", Evaluator.targetProbabilities(base, probe));
            System.out.printf("base done (%.1f min)%n", (System.nanoTime() - t0) / 60e9);
            List<Object[]> plan = new ArrayList<>();
            for (long seed : seeds) {
                plan.add(new Object[] {Objective.SFT, seed, lr});
                plan.add(new Object[] {Objective.DFT, seed, lr});
                plan.add(new Object[] {Objective.dftClamped(0.1), seed, lr});
            }
            for (double l : sweep) {
                plan.add(new Object[] {Objective.SFT, seeds.get(0), l});
                plan.add(new Object[] {Objective.DFT, seeds.get(0), l});
            }
            for (Object[] p : plan) {
                Objective o = (Objective) p[0];
                long seed = (Long) p[1];
                double rate = (Double) p[2];
                FineTuneOptions options = FineTuneOptions.builder()
                        .objective(o)
                        .lora(16, 32)
                        .epochs(2)
                        .learningRate(rate)
                        .seed(seed)
                        .evalFraction(0.05)
                        .build();
                Adapter a = Rectify.fineTune(base, train, options, store);
                try (AdaptedModel m = AdaptedModel.of(base, a)) {
                    Map<String, EvalReport> r = evaluate(m, sets, ev);
                    record(runs, o.toString(), seed, rate, r, a);
                    if (seed == seeds.get(0) && rate == lr) {
                        probs.put(o.toString(), Evaluator.targetProbabilities(m, probe));
                        curves.put(o.toString(), a.result().orElseThrow().history());
                    }
                    System.out.printf(
                            "%s seed %d lr %.0e: held-out EM %.2f nll %.3f | ood EM %.2f nll %.3f (%.1f min)%n",
                            o,
                            seed,
                            rate,
                            r.get("held-out").accuracy(),
                            r.get("held-out").nll(),
                            r.get("ood").accuracy(),
                            r.get("ood").nll(),
                            (System.nanoTime() - t0) / 60e9);
                }
                Files.writeString(
                        out.resolve("results.json"),
                        json.writerWithDefaultPrettyPrinter().writeValueAsString(root));
            }
        }
        ObjectNode hist = root.putObject("token_probability_histograms");
        var edges = hist.putArray("edges");
        for (double e : Charts.EDGES) {
            edges.add(Math.min(1, e));
        }
        probs.forEach((k, v) -> {
            var arr = hist.putArray(k);
            Charts.histogram(v).forEach(arr::add);
        });
        root.put("minutes", (System.nanoTime() - t0) / 60e9);
        Files.writeString(
                out.resolve("results.json"),
                json.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        Charts.tokenProbabilities(probs, out.resolve("token_probabilities.png"));
        Charts.trainingCurves(curves, out.resolve("training_objective.png"), out.resolve("training_nll.png"));
        Map<String, Map<String, Double>> acc = new LinkedHashMap<>();
        for (var r : runs) {
            if (r.path("lr").asDouble() == lr || r.path("method").asText().equals("base")) {
                String m = r.path("method").asText();
                for (String set : sets.keySet()) {
                    acc.computeIfAbsent(m, k -> new LinkedHashMap<>())
                            .merge(
                                    set,
                                    r.path(set).path("exact_match").asDouble() / (m.equals("base") ? 1 : seeds.size()),
                                    Double::sum);
                }
            }
        }
        Charts.accuracy(acc, out.resolve("accuracy.png"));
        System.out.printf("done in %.1f min%n", (System.nanoTime() - t0) / 60e9);
    }

    private static Map<String, EvalReport> evaluate(TextModel m, Map<String, List<Problem>> sets, Evaluator ev) {
        Map<String, EvalReport> out = new LinkedHashMap<>();
        sets.forEach((k, v) -> out.put(k, ev.evaluate(m, v)));
        return out;
    }

    private static void record(
            ArrayNode runs, String method, long seed, double lr, Map<String, EvalReport> r, Adapter a) {
        ObjectNode n = runs.addObject();
        n.put("method", method);
        n.put("seed", seed);
        n.put("lr", lr);
        r.forEach((set, rep) -> {
            ObjectNode s = n.putObject(set);
            s.put("exact_match", rep.accuracy());
            s.put("nll", rep.nll());
            s.put("token_accuracy", rep.tokenAccuracy());
        });
        if (a != null) {
            var res = a.result().orElseThrow();
            n.put("train_seconds", res.duration().toMillis() / 1000.0);
            n.put("split_eval_nll_before", res.initialEval().nll());
            n.put("split_eval_nll_after", res.finalEval().nll());
        }
    }
}
