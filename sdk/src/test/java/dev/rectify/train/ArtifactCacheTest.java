package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.Objective;
import dev.rectify.lora.LoraConfig;
import dev.rectify.onnx.Tensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArtifactCacheTest {
    @TempDir
    static Path tmp;

    static Path base;

    @BeforeAll
    static void writeBase() throws Exception {
        Files.createDirectories(tmp.resolve("base"));
        base = tmp.resolve("base/model.onnx");
        TinyLlama.build(1, false).write(base, "model.onnx.data", 256);
    }

    static TrainingPlan plan(int rank) {
        return TrainingPlan.builder()
                .lora(LoraConfig.builder().rank(rank).build())
                .objective(Objective.DFT)
                .build();
    }

    @Test
    void identicalInputsHitChangedPlanMisses() throws Exception {
        ArtifactCache cache = ArtifactCache.at(tmp.resolve("cache"));
        assertFalse(cache.contains(base, plan(4)));
        TrainingArtifacts a = cache.getOrBuild(base, plan(4));
        assertTrue(cache.contains(base, plan(4)));
        FileTime t = Files.getLastModifiedTime(a.trainingModel());
        Files.setLastModifiedTime(a.trainingModel(), FileTime.fromMillis(t.toMillis() - 10_000));
        FileTime old = Files.getLastModifiedTime(a.trainingModel());
        TrainingArtifacts again = cache.getOrBuild(base, plan(4));
        assertEquals(a.folder(), again.folder());
        assertEquals(old, Files.getLastModifiedTime(again.trainingModel()), "a hit rewrites nothing");
        assertEquals(a.trainableParameters(), again.trainableParameters());
        assertEquals(plan(4).hash(), again.property(ArtifactBuilder.PROP_PLAN_HASH));

        assertFalse(cache.contains(base, plan(8)));
        TrainingArtifacts other = cache.getOrBuild(base, plan(8));
        assertNotEquals(a.folder(), other.folder());
        try (Stream<Path> s = Files.list(cache.root())) {
            assertEquals(
                    2,
                    s.filter(p -> !p.getFileName().toString().startsWith(".")).count(),
                    "no leftovers");
        }
        try (Stream<Path> s = Files.list(cache.root())) {
            assertEquals(
                    0, s.filter(p -> p.getFileName().toString().startsWith(".")).count(), "no temp folders left");
        }
    }

    @Test
    void changedBaseMisses() throws Exception {
        Path base2 = tmp.resolve("base2/model.onnx");
        Files.createDirectories(base2.getParent());
        TinyLlama.build(1, false).write(base2, "model.onnx.data", 256);
        ArtifactCache cache = ArtifactCache.at(tmp.resolve("cache2"));
        assertEquals(cache.key(base, plan(4)), cache.key(base2, plan(4)), "same content, same key");
        Path base3 = tmp.resolve("base3/model.onnx");
        Files.createDirectories(base3.getParent());
        TinyLlama.build(2, false).write(base3, "model.onnx.data", 256);
        assertNotEquals(
                cache.key(base, plan(4)), cache.key(base3, plan(4)), "other weights (external data), other key");
    }

    @Test
    void fromDirectoryValidates() throws Exception {
        TrainingArtifacts a = ArtifactBuilder.defaults().build(base, plan(2), tmp.resolve("valid"));
        TrainingArtifacts read = TrainingArtifacts.fromDirectory(a.folder());
        assertEquals(a.trainableParameters(), read.trainableParameters());
        assertEquals(a.trainingInputs(), read.trainingInputs());
        assertEquals(a.evalInputs(), read.evalInputs());
        assertEquals(a.trainingOutputs(), read.trainingOutputs());
        assertEquals(a.evalOutputs(), read.evalOutputs());

        assertThrows(InvalidArtifactsException.class, () -> TrainingArtifacts.fromDirectory(tmp.resolve("nowhere")));
        // an extra trainable tensor the graph does not know would crash OptimizerStep: refused
        CheckpointWriter.create()
                .trainable(Tensors.ofFloats("stray", new float[] {1}, 1))
                .write(a.folder().resolve("checkpoint"));
        InvalidArtifactsException e =
                assertThrows(InvalidArtifactsException.class, () -> TrainingArtifacts.fromDirectory(a.folder()));
        assertTrue(e.getMessage().contains("stray"), e.getMessage());
        Files.delete(a.folder().resolve(TrainingArtifacts.OPTIMIZER_MODEL));
        e = assertThrows(InvalidArtifactsException.class, () -> TrainingArtifacts.fromDirectory(a.folder()));
        assertTrue(e.getMessage().contains("optimizer_model.onnx"), e.getMessage());
    }
}
