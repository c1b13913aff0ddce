package dev.rectify.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.FileTrees;
import dev.rectify.ort.CheckpointState;
import dev.rectify.ort.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The checkpoints of one training run folder: {@code step-N/} folders (ORT's training checkpoint plus
 * {@code trainer-state.json}, the loop's position), each renamed into place atomically, a {@code latest} pointer,
 * pruning to {@link FineTuneOptions#keepCheckpoints()}, the checks that a checkpoint belongs to the run resuming it,
 * and reading a checkpoint's trained weights without ONNX Runtime.
 */
public final class RunCheckpoints {
    static final String LATEST = "latest";
    static final String STATE = "trainer-state.json";

    private final TrainingArtifacts artifacts;
    private final FineTuneOptions options;
    private final Path runDir;

    RunCheckpoints(TrainingArtifacts artifacts, FineTuneOptions options, Path runDir) {
        this.artifacts = artifacts;
        this.options = options;
        this.runDir = runDir;
    }

    /** The trained parameters held by the live {@code state}. */
    TrainedWeights weights(CheckpointState state) {
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (String name : artifacts.trainableParameters()) {
            try (Tensor t = state.parameter(name)) {
                values.put(name, t.toFloats());
                shapes.put(name, t.shape());
            }
        }
        return new TrainedWeights(values, shapes);
    }

    /** The step of the newest complete checkpoint in {@code runDir}, or -1 when it holds none. */
    public static int latestCheckpointStep(Path runDir) {
        Path dir = latestCheckpoint(runDir);
        if (dir == null) {
            return -1;
        }
        try {
            return new ObjectMapper()
                    .readTree(dir.resolve(STATE).toFile())
                    .path("step")
                    .asInt(-1);
        } catch (IOException e) {
            throw new RectifyException("cannot read " + dir.resolve(STATE) + ": " + e.getMessage(), e);
        }
    }

    /** The folder of this run's newest complete checkpoint, or null. */
    Path latest() {
        return latestCheckpoint(runDir);
    }

    /** The folder of the newest complete checkpoint in {@code runDir}, or null. */
    static Path latestCheckpoint(Path runDir) {
        Path pointer = runDir.resolve(LATEST);
        try {
            if (!Files.isRegularFile(pointer)) {
                return null;
            }
            Path dir = runDir.resolve(Files.readString(pointer).strip());
            return Files.isRegularFile(dir.resolve(STATE)) ? dir : null;
        } catch (IOException e) {
            throw new RectifyException("cannot read " + pointer + ": " + e.getMessage(), e);
        }
    }

    /** Saves {@code state} and the loop's position {@code st} as the checkpoint of {@code st.step}, atomically. */
    void save(CheckpointState state, LoopState st) {
        try {
            Files.createDirectories(runDir);
            String name = checkpointName(st.step);
            Path tmp = Files.createTempDirectory(runDir, "." + name + ".");
            state.save(tmp.resolve(TrainingArtifacts.CHECKPOINT), true);
            ObjectNode json = new ObjectMapper().createObjectNode();
            json.put("step", st.step);
            json.put("skipped", st.skipped);
            json.put("tokens", st.tokens);
            json.put("lastLr", st.lastLr);
            json.put("bestNll", Double.isInfinite(st.bestNll) ? null : st.bestNll);
            json.put("evalsWithoutImprovement", st.evalsWithoutImprovement);
            json.put("initialEvalLoss", st.initialEval.loss());
            json.put("initialEvalNll", st.initialEval.nll());
            json.put("initialEvalAccuracy", st.initialEval.tokenAccuracy());
            json.put("initialEvalTokens", st.initialEval.tokens());
            json.put("planHash", artifacts.property(ArtifactBuilder.PROP_PLAN_HASH));
            json.put("baseHash", artifacts.property(ArtifactBuilder.PROP_BASE_HASH));
            json.put("options", options.canonical());
            if (st.lossScale > 0) { // float16 loss scaling
                json.put("lossScale", st.lossScale);
                json.put("lossScaleGoodSteps", st.lossScaleGoodSteps);
                json.put("overflows", st.overflows);
            }
            Files.writeString(tmp.resolve(STATE), json.toPrettyString());
            try (var files = Files.list(tmp)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    AtomicFile.fsync(f);
                }
            }
            AtomicFile.fsyncDir(tmp);
            Path target = runDir.resolve(name);
            if (Files.exists(target)) {
                FileTrees.delete(target);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            AtomicFile.write(runDir.resolve(LATEST), name.getBytes(StandardCharsets.UTF_8)); // fsyncs runDir too
            prune(st.step);
            st.savedAtStep = st.step;
        } catch (IOException e) {
            throw new RectifyException(
                    "cannot save a checkpoint in " + runDir + " (the previous one is intact): " + e.getMessage(), e);
        }
    }

    /**
     * Keeps the checkpoint of {@code newest} and the {@code keepCheckpoints - 1} newest before it; deletes older ones
     * and any of a later step (left by an abandoned run in the same folder).
     */
    private void prune(int newest) throws IOException {
        List<Integer> older = checkpointSteps(runDir).stream()
                .filter(s -> s < newest)
                .sorted((a, b) -> b - a)
                .toList();
        List<Integer> drop =
                new ArrayList<>(older.subList(Math.min(older.size(), options.keepCheckpoints() - 1), older.size()));
        checkpointSteps(runDir).stream().filter(s -> s > newest).forEach(drop::add);
        for (int step : drop) {
            FileTrees.delete(runDir.resolve(checkpointName(step)));
        }
    }

    private static String checkpointName(int step) {
        return String.format("step-%08d", step);
    }

    /** The steps of the complete checkpoints in {@code runDir}, ascending (empty when it holds none). */
    public static List<Integer> checkpointSteps(Path runDir) {
        if (!Files.isDirectory(runDir)) {
            return List.of();
        }
        try (var files = Files.list(runDir)) {
            return files.filter(d ->
                            d.getFileName().toString().matches("step-\\d{8,}") && Files.isRegularFile(d.resolve(STATE)))
                    .map(d -> Integer.parseInt(d.getFileName().toString().substring(5)))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new RectifyException("cannot list the checkpoints in " + runDir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The trained parameters of the checkpoint of {@code step} in {@code runDir}, read from its training checkpoint
     * file without ONNX Runtime. {@code options} must be those the run was made with.
     *
     * @throws CheckpointNotFoundException when that checkpoint does not exist (never saved, or deleted since)
     * @throws CheckpointMismatchException when it was made with other options
     */
    public static TrainedWeights checkpointWeights(Path runDir, int step, FineTuneOptions options) {
        Path dir = runDir.resolve(checkpointName(step));
        if (!Files.isRegularFile(dir.resolve(STATE))) {
            throw new CheckpointNotFoundException("no checkpoint of step " + step + " in " + runDir
                    + " (it was never saved or " + "has been deleted); saved checkpoints: " + checkpointSteps(runDir));
        }
        String made;
        try {
            made = new ObjectMapper()
                    .readTree(dir.resolve(STATE).toFile())
                    .path("options")
                    .asText();
        } catch (IOException e) {
            throw new RectifyException("cannot read " + dir.resolve(STATE) + ": " + e.getMessage(), e);
        }
        if (!options.canonical().equals(made)) {
            throw new CheckpointMismatchException(
                    dir + " was made with other options (" + made + "), not " + options.canonical());
        }
        Path file = dir.resolve(TrainingArtifacts.CHECKPOINT);
        Map<String, float[]> values = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (CheckpointFile.Entry e : CheckpointFile.read(file).trainable()) {
            if (e.dataType() != 1 || e.data() == null) {
                throw ModelFormatException.at(
                        file,
                        "trainable tensor '" + e.name() + "' is not float32 data (type " + e.dataType()
                                + "): not a checkpoint Rectify wrote");
            }
            values.put(e.name(), e.floats());
            shapes.put(e.name(), e.dims());
        }
        return new TrainedWeights(values, shapes);
    }

    /**
     * The loop's position saved in checkpoint folder {@code dir}, after checking it was made from the same base,
     * plan and options.
     */
    LoopState readState(Path dir, CheckpointState state) {
        try {
            var json = new ObjectMapper().readTree(dir.resolve(STATE).toFile());
            String plan = json.path("planHash").asText(null);
            String base = json.path("baseHash").asText(null);
            String myPlan = artifacts.property(ArtifactBuilder.PROP_PLAN_HASH);
            String myBase = artifacts.property(ArtifactBuilder.PROP_BASE_HASH);
            Object ckptBase = safeProperty(state, ArtifactBuilder.PROP_BASE_HASH);
            if ((myBase != null && !myBase.equals(base))
                    || (ckptBase != null && myBase != null && !myBase.equals(ckptBase))) {
                throw new CheckpointMismatchException(dir + " is a checkpoint of another base model (" + base
                        + "), not of " + myBase + ": use another run folder or resume=false");
            }
            if (myPlan != null && !myPlan.equals(plan)) {
                throw new CheckpointMismatchException(
                        dir + " was made with another training plan: use another run folder " + "or resume=false");
            }
            if (!options.canonical().equals(json.path("options").asText())) {
                throw new CheckpointMismatchException(dir + " was made with other options ("
                        + json.path("options").asText() + "); resuming needs the same options");
            }
            LoopState st = new LoopState();
            st.step = json.path("step").asInt();
            st.resumedAtStep = st.step;
            st.skipped = json.path("skipped").asInt();
            st.tokens = json.path("tokens").asLong();
            st.lastLr = json.path("lastLr").asDouble();
            st.bestNll = json.path("bestNll").isNull()
                    ? Double.POSITIVE_INFINITY
                    : json.path("bestNll").asDouble();
            st.evalsWithoutImprovement = json.path("evalsWithoutImprovement").asInt();
            st.initialEval = new EvalMetrics(
                    json.path("initialEvalLoss").asDouble(Double.NaN),
                    json.path("initialEvalNll").asDouble(Double.NaN),
                    json.path("initialEvalAccuracy").asDouble(Double.NaN),
                    json.path("initialEvalTokens").asLong());
            st.lossScale = json.path("lossScale").asDouble(0);
            st.lossScaleGoodSteps = json.path("lossScaleGoodSteps").asInt();
            st.overflows = json.path("overflows").asInt();
            return st;
        } catch (IOException e) {
            throw new RectifyException("cannot read " + dir.resolve(STATE) + ": " + e.getMessage(), e);
        }
    }

    private static Object safeProperty(CheckpointState state, String name) {
        try {
            return state.property(name);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
