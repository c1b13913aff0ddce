package dev.rectify.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.TestModels;
import dev.rectify.ort.Device;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class BundledModelTest {
    @Test
    void indexMatchesTheModelFiles() throws Exception {
        Path dir = TestModels.tinyDir();
        List<String> lines = Files.readAllLines(dir.resolve("FILES")).stream()
                .filter(l -> !l.startsWith("#") && !l.isBlank())
                .toList();
        assertTrue(lines.size() >= 6, "FILES lists the model files");
        for (String line : lines) {
            String[] p = line.split("\\s+");
            assertEquals(
                    p[0],
                    BundledModel.sha256(Files.readAllBytes(dir.resolve(p[1]))),
                    p[1] + " changed: run models/update-index.sh");
        }
    }

    @Test
    void unpacksFromTheClasspathOnceAndOpens() {
        Path dir = BundledModel.directory();
        assertTrue(Files.isRegularFile(dir.resolve("model.onnx")));
        assertEquals(dir, BundledModel.directory(), "second use finds the same folder");
        try (BaseModel m = BaseModel.bundled(Device.cpu(1))) {
            assertTrue(m.generator().usesKvCache());
            assertEquals(512, m.contextLength());
        }
    }
}
