package dev.rectify.ort;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class TrainingSessionArenaTest {
    @Test
    void anArenaGrowingAsRequestedIsRefusedForTrainingBeforeOrtIsAsked() {
        SessionConfig exact =
                SessionConfig.builder().arenaGrowth(ArenaGrowth.AS_REQUESTED).build();
        var fromFiles = assertThrows(
                InvalidArgumentException.class,
                () -> TrainingSession.create(exact, null, Path.of("absent-training.onnx"), null, null));
        assertTrue(fromFiles.getMessage().contains("inference sessions only"), fromFiles.getMessage());
        assertThrows(
                InvalidArgumentException.class, () -> TrainingSession.create(exact, null, new byte[0], null, null));
    }
}
