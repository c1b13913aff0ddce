package dev.rectify.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.GraphProto;
import dev.rectify.onnx.proto.OnnxProto.ValueInfoProto;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A folder of ORT training artifacts and what a trainer needs to drive them.
 *
 * @param trainableParameters trainable parameter names in training-graph order (the order of
 *                            CopyParametersToBuffer)
 * @param trainingInputs      user inputs of the training model, in the positional order TrainStep takes
 * @param evalInputs          user inputs of the eval model, in EvalStep's order
 * @param trainingOutputs     what TrainStep returns, in order
 * @param evalOutputs         what EvalStep returns, in order
 * @param properties          the checkpoint's property bag (plan and base hashes, objective, normalization...)
 */
public record TrainingArtifacts(
        Path folder,
        Path trainingModel,
        Path evalModel,
        Path optimizerModel,
        Path checkpoint,
        List<String> trainableParameters,
        List<String> trainingInputs,
        List<String> evalInputs,
        List<String> trainingOutputs,
        List<String> evalOutputs,
        Map<String, Object> properties) {

    public static final String TRAINING_MODEL = "training_model.onnx";
    public static final String EVAL_MODEL = "eval_model.onnx";
    public static final String OPTIMIZER_MODEL = "optimizer_model.onnx";
    public static final String CHECKPOINT = "checkpoint";
    public static final String MANIFEST = "rectify-artifacts.json";
    static final String LAZY_RESET_GRAD = "lazy_reset_grad";
    static final String BUFFER_SUFFIX = "_grad.accumulation.buffer";
    static final String OUT_SUFFIX = "_grad.accumulation.out";

    public TrainingArtifacts {
        trainableParameters = List.copyOf(trainableParameters);
        trainingInputs = List.copyOf(trainingInputs);
        evalInputs = List.copyOf(evalInputs);
        trainingOutputs = List.copyOf(trainingOutputs);
        evalOutputs = List.copyOf(evalOutputs);
        properties = Collections.unmodifiableMap(new LinkedHashMap<>(properties));
    }

    /** A string property of the checkpoint (e.g. {@code rectify.plan_hash}), or null. */
    public String property(String name) {
        Object v = properties.get(name);
        return v == null ? null : v.toString();
    }

    /**
     * Accepts artifacts produced elsewhere (or by {@link ArtifactBuilder}): checks that the four files exist and are
     * consistent — every trainable checkpoint tensor is a training-graph input with its gradient buffer,
     * {@code lazy_reset_grad} exists, the eval model takes the same parameters in the same order, the optimizer
     * model has ORT's six inputs — and derives the names. Throws {@link InvalidArtifactsException} naming the file.
     */
    public static TrainingArtifacts fromDirectory(Path folder) {
        Path dir = folder.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new InvalidArtifactsException(dir + ": training artifacts folder not found");
        }
        Path tm = require(dir, TRAINING_MODEL);
        Path em = require(dir, EVAL_MODEL);
        Path om = require(dir, OPTIMIZER_MODEL);
        Path ck = require(dir, CHECKPOINT);
        CheckpointFile cp;
        try {
            cp = CheckpointFile.read(ck);
        } catch (ModelFormatException e) {
            throw new InvalidArtifactsException(e.getMessage(), e);
        }
        if (cp.version() != 2) {
            throw new InvalidArtifactsException(
                    ck + ": checkpoint version " + cp.version() + ", ONNX Runtime 1.24 reads 2");
        }
        Set<String> trainable = new HashSet<>(cp.trainableNames());
        Set<String> allParams = new HashSet<>(trainable);
        cp.frozen().forEach(e -> allParams.add(e.name()));

        GraphProto train = graphOf(tm);
        List<String> params = new ArrayList<>();
        List<String> user = new ArrayList<>();
        Set<String> buffers = new HashSet<>();
        boolean reset = false;
        for (ValueInfoProto v : train.getInputList()) {
            String n = v.getName();
            if (allParams.contains(n)) {
                if (trainable.contains(n)) {
                    params.add(n);
                }
            } else if (n.equals(LAZY_RESET_GRAD)) {
                reset = true;
            } else if (n.endsWith(BUFFER_SUFFIX)) {
                buffers.add(n.substring(0, n.length() - BUFFER_SUFFIX.length()));
            } else {
                user.add(n);
            }
        }
        for (String p : cp.trainableNames()) {
            if (!params.contains(p)) {
                throw new InvalidArtifactsException(tm + ": trainable checkpoint tensor '" + p
                        + "' is not an input of the " + "training model (ORT's OptimizerStep would crash on it)");
            }
            if (!buffers.contains(p)) {
                throw new InvalidArtifactsException(tm + ": no gradient buffer input '" + p + BUFFER_SUFFIX + "'");
            }
        }
        if (!reset) {
            throw new InvalidArtifactsException(tm + ": no '" + LAZY_RESET_GRAD + "' input");
        }
        List<String> trainOut = new ArrayList<>();
        for (ValueInfoProto v : train.getOutputList()) {
            if (!v.getName().endsWith(OUT_SUFFIX)
                    && !v.getName().endsWith("_grad")
                    && !v.getName().endsWith(BUFFER_SUFFIX)) {
                trainOut.add(v.getName());
            }
        }
        GraphProto eval = graphOf(em);
        List<String> evalParams = new ArrayList<>();
        List<String> evalUser = new ArrayList<>();
        for (ValueInfoProto v : eval.getInputList()) {
            if (trainable.contains(v.getName())) {
                evalParams.add(v.getName());
            } else if (!allParams.contains(v.getName())) {
                evalUser.add(v.getName());
            }
        }
        if (!evalParams.equals(params)) {
            throw new InvalidArtifactsException(em + ": the eval model must take the trainable parameters as inputs in "
                    + "the training model's order " + params + ", it takes " + evalParams);
        }
        List<String> evalOut =
                eval.getOutputList().stream().map(ValueInfoProto::getName).toList();
        List<String> optIn =
                graphOf(om).getInputList().stream().map(ValueInfoProto::getName).toList();
        if (!optIn.equals(OptimizerModel.INPUTS)) {
            throw new InvalidArtifactsException(
                    om + ": optimizer model inputs must be exactly " + OptimizerModel.INPUTS + ", found " + optIn);
        }
        return new TrainingArtifacts(dir, tm, em, om, ck, params, user, evalUser, trainOut, evalOut, cp.properties());
    }

    private static Path require(Path dir, String name) {
        Path p = dir.resolve(name);
        if (!Files.isRegularFile(p)) {
            throw new InvalidArtifactsException(dir + ": missing " + name + " (a training-artifacts folder holds "
                    + List.of(TRAINING_MODEL, EVAL_MODEL, OPTIMIZER_MODEL, CHECKPOINT) + ")");
        }
        return p;
    }

    private static GraphProto graphOf(Path model) {
        try {
            // parse only: external data stays unresolved, so large bases are cheap to check
            return OnnxModel.parse(Files.readAllBytes(model)).proto().getGraph();
        } catch (IOException e) {
            throw new InvalidArtifactsException(model + ": cannot read: " + e.getMessage(), e);
        } catch (ModelFormatException e) {
            throw new InvalidArtifactsException(model + ": " + e.getMessage(), e);
        }
    }

    /** Writes the manifest (names and properties) beside the artifacts, for humans and tools. */
    void writeManifest() {
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("builder", ArtifactBuilder.VERSION);
        put(root.putArray("trainable_parameters"), trainableParameters);
        put(root.putArray("training_inputs"), trainingInputs);
        put(root.putArray("eval_inputs"), evalInputs);
        put(root.putArray("training_outputs"), trainingOutputs);
        put(root.putArray("eval_outputs"), evalOutputs);
        ObjectNode props = root.putObject("properties");
        properties.forEach((k, v) -> props.put(k, v.toString()));
        try {
            Files.writeString(
                    folder.resolve(MANIFEST),
                    om.writerWithDefaultPrettyPrinter().writeValueAsString(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void put(ArrayNode a, List<String> values) {
        values.forEach(a::add);
    }
}
