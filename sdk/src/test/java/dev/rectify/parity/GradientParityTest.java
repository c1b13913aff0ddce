package dev.rectify.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.SessionConfig;
import dev.rectify.ort.Tensor;
import dev.rectify.ort.TrainingSession;
import dev.rectify.train.ArtifactBuilder;
import dev.rectify.train.ObjectiveHead;
import dev.rectify.train.TrainingArtifacts;
import dev.rectify.train.TrainingPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 3's parity check: Rectify's Java-built training graphs, run through ONNX Runtime's training API, give
 * PyTorch's (float64) loss, NLL and the gradient of every trained tensor, for a Llama-style and a GPT-2-style
 * model, SFT and DFT, full fine-tuning and LoRA. Fixtures: src-test/fixtures/parity (see its README.md).
 * <p>
 * Tolerances: loss and NLL within 1e-4 relative; per tensor ‖g − g_ref‖ / ‖g_ref‖ ≤ 1e-4. The maximum
 * elementwise error (absolute, and relative to the tensor's max |g_ref|) is printed for each case.
 */
class GradientParityTest {
    static final double LOSS_TOL = 1e-4;
    static final double GRAD_TOL = 1e-4;

    @TempDir
    static Path tmp;

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String model : List.of("llama", "gpt2")) {
            for (String c : List.of("sft/full", "dft/full", "sft/lora", "dft/lora")) {
                out.add(Arguments.of(model, c));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void lossAndGradientsMatchPyTorch(String model, String caseName) {
        ParityFixture f = ParityFixture.load(model);
        JsonNode c = f.json().path("cases").path(caseName);
        assertTrue(c.isObject(), "fixture " + model + " has no case " + caseName);
        Objective objective = caseName.startsWith("dft") ? Objective.DFT : Objective.SFT;
        boolean lora = caseName.endsWith("lora");
        JsonNode grads = c.path("grads");
        List<String> expectedNames = new ArrayList<>();
        grads.fieldNames().forEachRemaining(expectedNames::add);

        TrainingPlan.Builder plan = TrainingPlan.builder().objective(objective).exposeGradients(true);
        if (lora) {
            JsonNode l = f.json().path("lora");
            LoraConfig.Builder lb = LoraConfig.builder()
                    .rank(l.path("rank").asInt())
                    .alpha(l.path("alpha").asDouble());
            List<String> targets = new ArrayList<>();
            l.path("targets").forEach(t -> targets.add(t.asText()));
            lb.targetModules(targets);
            for (Iterator<Map.Entry<String, JsonNode>> it = l.path("init").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                lb.initialValue(e.getKey(), f.floats(e.getValue()));
            }
            plan.lora(lb.build());
        } else {
            // the fixture's full case trains every parameter (norms and biases included)
            plan.fullFineTuning(".*");
        }
        TrainingArtifacts a = ArtifactBuilder.defaults()
                .build(f.model(), plan.build(), tmp.resolve(model + "-" + caseName.replace('/', '-')));
        assertEquals(
                new TreeSet<>(expectedNames),
                new TreeSet<>(a.trainableParameters()),
                "the trained tensors are the fixture's");

        long valid = c.path("valid_tokens").asLong();
        Map<String, float[]> out = new HashMap<>();
        SessionConfig cpu = SessionConfig.builder().intraOpThreads(1).build();
        try (CheckpointState st = CheckpointState.load(a.checkpoint());
                TrainingSession s =
                        TrainingSession.create(cpu, st, a.trainingModel(), a.evalModel(), a.optimizerModel())) {
            s.lazyResetGrad();
            List<Tensor> in = feeds(f, s.trainingInputNames(), valid);
            try {
                List<Tensor> outs = s.trainStep(in, null);
                for (int i = 0; i < outs.size(); i++) {
                    out.put(s.trainingOutputNames().get(i), outs.get(i).toFloats());
                    outs.get(i).close();
                }
            } finally {
                in.forEach(Tensor::close);
            }
        }

        double loss = out.get(ObjectiveHead.LOSS)[0];
        double nll = out.get(ObjectiveHead.NLL_SUM)[0] / valid;
        double refLoss = c.path("loss").asDouble();
        double refNll = c.path("nll").asDouble();
        double lossRel = Math.abs(loss - refLoss) / Math.abs(refLoss);
        double nllRel = Math.abs(nll - refNll) / Math.abs(refNll);
        StringBuilder report = new StringBuilder();
        report.append(String.format(
                "%s %s: loss %.9f (ref %.9f, rel %.2e), nll %.9f (ref %.9f, rel %.2e), valid %s%n",
                model, caseName, loss, refLoss, lossRel, nll, refNll, nllRel, out.get(ObjectiveHead.VALID_TOKENS)[0]));

        List<String> failures = new ArrayList<>();
        if (!(lossRel <= LOSS_TOL)) {
            failures.add("loss " + loss + " vs " + refLoss + " (rel " + lossRel + ")");
        }
        if (!(nllRel <= LOSS_TOL)) {
            failures.add("nll " + nll + " vs " + refNll + " (rel " + nllRel + ")");
        }
        double worstRel = 0;
        double worstMaxAbs = 0;
        double worstMaxRel = 0;
        for (String name : expectedNames) {
            float[] ref = f.floats(grads.path(name));
            float[] got = out.get(ArtifactBuilder.GRAD_DEBUG_PREFIX + name);
            if (got == null) {
                failures.add(name + ": no grad_debug output");
                continue;
            }
            if (got.length != ref.length) {
                failures.add(name + ": " + got.length + " gradient values, expected " + ref.length);
                continue;
            }
            double diff2 = 0;
            double ref2 = 0;
            double maxAbs = 0;
            double refMax = 0;
            for (int i = 0; i < ref.length; i++) {
                double d = (double) got[i] - ref[i];
                diff2 += d * d;
                ref2 += (double) ref[i] * ref[i];
                maxAbs = Math.max(maxAbs, Math.abs(d));
                refMax = Math.max(refMax, Math.abs(ref[i]));
            }
            double rel = Math.sqrt(diff2) / Math.sqrt(ref2);
            double maxRel = maxAbs / refMax;
            worstRel = Math.max(worstRel, rel);
            worstMaxAbs = Math.max(worstMaxAbs, maxAbs);
            worstMaxRel = Math.max(worstMaxRel, maxRel);
            if (!(rel <= GRAD_TOL)) {
                failures.add(String.format(
                        "%s: ‖g−g_ref‖/‖g_ref‖ = %.3e (‖g_ref‖ %.3e, max |Δ| %.3e)",
                        name, rel, Math.sqrt(ref2), maxAbs));
            }
        }
        report.append(String.format(
                "  %d gradients: worst ‖Δ‖/‖g_ref‖ %.2e, worst max |Δ| %.2e " + "(%.2e of that tensor's max |g_ref|)",
                expectedNames.size(), worstRel, worstMaxAbs, worstMaxRel));
        System.out.println(report);
        assertTrue(
                failures.isEmpty(), model + " " + caseName + ":\n  " + String.join("\n  ", failures) + "\n" + report);
    }

    private static List<Tensor> feeds(ParityFixture f, List<String> names, long valid) {
        long[] shape = f.batchShape();
        List<Tensor> in = new ArrayList<>();
        for (String n : names) {
            in.add(
                    switch (n) {
                        case "input_ids", "attention_mask", "position_ids" -> Tensor.ofLongs(f.batch(n), shape);
                        case ObjectiveHead.LABELS -> Tensor.ofLongs(f.batch("labels"), shape);
                        case ObjectiveHead.LOSS_DENOMINATOR -> Tensor.ofFloats(new float[] {valid}, 1);
                        default -> throw new IllegalStateException("unexpected training input " + n);
                    });
        }
        return in;
    }
}
