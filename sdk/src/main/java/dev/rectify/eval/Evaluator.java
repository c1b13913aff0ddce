package dev.rectify.eval;

import dev.rectify.core.ChatMessage;
import dev.rectify.core.Example;
import dev.rectify.generate.Generation;
import dev.rectify.generate.Sampling;
import dev.rectify.generate.TokenListener;
import dev.rectify.generate.TokenScorer;
import dev.rectify.model.TextModel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Evaluates a model on problems: greedy answers in batches through the chat template (exact match against the
 * reference answer), and teacher-forced scores of the reference solutions.
 */
public final class Evaluator {
    private final int batchSize;
    private final int maxNewTokens;

    /** Batches of {@code batchSize} prompts, at most {@code maxNewTokens} per answer. */
    public Evaluator(int batchSize, int maxNewTokens) {
        this.batchSize = batchSize;
        this.maxNewTokens = maxNewTokens;
    }

    /** The probability of every trained token of {@code examples} under {@code model} (teacher-forced), in order. */
    public static double[] targetProbabilities(TextModel model, List<Example> examples) {
        List<Double> all = new ArrayList<>();
        for (TokenScorer.Scores s : model.score(examples)) {
            for (double p : s.probabilities()) {
                all.add(p);
            }
        }
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    public EvalReport evaluate(TextModel model, List<Problem> problems) {
        return evaluate(model, problems, n -> {});
    }

    /** Evaluates; {@code progress} receives the number of problems answered so far. */
    public EvalReport evaluate(TextModel model, List<Problem> problems, IntConsumer progress) {
        List<EvalReport.Item> items = new ArrayList<>();
        int correct = 0;
        Sampling greedy = Sampling.greedy().maxNewTokens(maxNewTokens);
        for (int from = 0; from < problems.size(); from += batchSize) {
            List<Problem> batch = problems.subList(from, Math.min(problems.size(), from + batchSize));
            List<String> prompts = new ArrayList<>();
            for (Problem p : batch) {
                prompts.add(
                        model.baseModel().chatTemplate().isPresent()
                                ? model.baseModel().applyChatTemplate(List.of(ChatMessage.user(p.prompt())), true)
                                : p.prompt());
            }
            List<Generation> gens = model.generate(prompts, greedy, TokenListener.none());
            for (int i = 0; i < batch.size(); i++) {
                String got = AnswerExtractor.extract(gens.get(i).text());
                String expected = AnswerExtractor.normalise(batch.get(i).answer());
                boolean ok = expected.equals(got);
                correct += ok ? 1 : 0;
                items.add(new EvalReport.Item(
                        batch.get(i).prompt(), expected, got, ok, gens.get(i).text()));
            }
            progress.accept(items.size());
        }
        List<Example> refs = new ArrayList<>();
        for (Problem p : problems) {
            if (p.asExample() != null) {
                refs.add(p.asExample());
            }
        }
        double nll = Double.NaN;
        double tokenAcc = Double.NaN;
        double[] probs = new double[0];
        if (!refs.isEmpty()) {
            List<TokenScorer.Scores> scores = model.score(refs);
            double sum = 0;
            long n = 0;
            long right = 0;
            List<Double> all = new ArrayList<>();
            for (TokenScorer.Scores s : scores) {
                sum += s.nllSum();
                n += s.probabilities().length;
                for (int k = 0; k < s.probabilities().length; k++) {
                    all.add(s.probabilities()[k]);
                    right += s.argmaxCorrect()[k] ? 1 : 0;
                }
            }
            nll = sum / Math.max(1, n);
            tokenAcc = right / (double) Math.max(1, n);
            probs = all.stream().mapToDouble(Double::doubleValue).toArray();
        }
        return new EvalReport(problems.size(), correct, nll, tokenAcc, probs, items);
    }
}
