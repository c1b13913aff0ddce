package dev.rectify.bench.prior;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The prior-strength experiment end to end at toy size: the bundled model as the only base, SFT and DFT, two seeds,
 * two learning rates, a few problems with short answers. Checks the runs, the search, the statistics, the report and
 * that the report renders again from results.json alone, and that a second invocation resumes from the cached runs instead of training again.
 */
class PriorStrengthExperimentTest {
    private static final Path ROOT = Path.of("..");

    @Test
    void toyExperimentRunsReportsAndResumes(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("report");
        String[] args = {
            "--out",
            out.toString(),
            "--work",
            tmp.resolve("work").toString(),
            "--data",
            ROOT.resolve("data/math").toString(),
            "--recipe",
            ROOT.resolve("models/rectify-tiny/recipe").toString(),
            "--bundled",
            ROOT.resolve("models/rectify-tiny").toString(),
            "--bases",
            "b100",
            "--methods",
            "sft,dft",
            "--seeds",
            "2",
            "--lrs",
            "5e-4,2e-3",
            "--train-limit",
            "16",
            "--eval-limit",
            "4",
            "--max-new-tokens",
            "80",
            "--epochs",
            "1",
            "--lora-rank",
            "4"
        };
        new PriorStrengthExperiment(ExperimentSettings.parse(args)).run();

        JsonNode r = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        JsonNode runs = r.get("runs");
        assertEquals(1 + 2 * 2, runs.size(), "the base model plus two methods at two seeds");
        for (JsonNode run : runs) {
            for (String set : ExperimentResults.SETS) {
                JsonNode correct = run.path(set).path("correct");
                assertEquals(4, correct.size(), set + " of " + run);
                double mean = 0;
                for (JsonNode c : correct) {
                    assertTrue(c.asInt() == 0 || c.asInt() == 1);
                    mean += c.asDouble() / correct.size();
                }
                assertEquals(mean, run.path(set).path("exact_match").asDouble(), 1e-12);
            }
        }
        // the search tried every learning rate for every method, and each method ran at the best one
        Map<String, Double> bestEm = new HashMap<>();
        assertEquals(4, r.get("search").size());
        for (JsonNode s : r.get("search")) {
            bestEm.merge(
                    s.path("method").asText(),
                    s.path("validation").path("exact_match").asDouble(),
                    Math::max);
        }
        for (JsonNode run : runs) {
            String m = run.path("method").asText();
            if (m.equals("base")) {
                continue;
            }
            double lr = run.path("lr").asDouble();
            JsonNode chosen = null;
            for (JsonNode s : r.get("search")) {
                if (s.path("method").asText().equals(m) && s.path("lr").asDouble() == lr) {
                    chosen = s;
                }
            }
            assertEquals(
                    bestEm.get(m),
                    chosen.path("validation").path("exact_match").asDouble(),
                    m + " ran at a learning rate the search did not pick");
        }
        // the paired statistic is the difference of the two methods' means over the same seeds and problems
        JsonNode dft =
                r.path("statistics").path("b100").path(ExperimentResults.NEAR).path("DFT");
        double expected = meanOf(runs, "DFT", ExperimentResults.NEAR) - meanOf(runs, "SFT", ExperimentResults.NEAR);
        assertEquals(expected, dft.path("minus_sft").path("difference").asDouble(), 1e-12);
        assertTrue(dft.path("low").asDouble() <= dft.path("mean").asDouble()
                && dft.path("mean").asDouble() <= dft.path("high").asDouble());

        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| 100 % | " + ExperimentResults.NEAR + " | DFT | "), md);
        for (String png : List.of(
                "accuracy_vs_prior_in-distribution.png",
                "accuracy_vs_prior_near-ood.png",
                "accuracy_vs_prior_far-ood.png",
                "token_probabilities_b100.png")) {
            byte[] all = Files.readAllBytes(out.resolve(png));
            byte[] head = {all[0], all[1], all[2], all[3]};
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head, png);
        }
        assertEquals(3, r.path("token_probability_histograms").path("b100").size(), "base, SFT and DFT");

        // the report renders again from results.json alone, to the same tables and statistics
        Files.delete(out.resolve("accuracy_vs_prior_near-ood.png"));
        Files.delete(out.resolve("token_probabilities_b100.png"));
        PriorStrengthReport.main(new String[] {out.toString()});
        assertEquals(md, Files.readString(out.resolve("results.md")));
        JsonNode rendered =
                new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(r, rendered);
        assertTrue(Files.size(out.resolve("accuracy_vs_prior_near-ood.png")) > 0);
        assertTrue(Files.size(out.resolve("token_probabilities_b100.png")) > 0);

        // a second invocation reuses every cached run: no run file is rewritten, the results are the same
        Map<Path, FileTime> before = new HashMap<>();
        try (Stream<Path> files = Files.walk(tmp.resolve("work").resolve("runs"))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                before.put(f, Files.getLastModifiedTime(f));
            }
        }
        new PriorStrengthExperiment(ExperimentSettings.parse(args)).run();
        before.forEach((f, t) -> {
            try {
                assertEquals(t, Files.getLastModifiedTime(f), f + " was computed again");
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
        JsonNode again = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertEquals(runs, again.get("runs"));
    }

    private static double meanOf(JsonNode runs, String method, String set) {
        double sum = 0;
        int n = 0;
        for (JsonNode run : runs) {
            if (run.path("method").asText().equals(method)) {
                for (JsonNode c : run.path(set).path("correct")) {
                    sum += c.asDouble();
                    n++;
                }
            }
        }
        return sum / n;
    }
}
