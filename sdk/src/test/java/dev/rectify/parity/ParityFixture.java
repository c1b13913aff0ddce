package dev.rectify.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rectify.TestModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** One PyTorch reference fixture from src-test/fixtures/parity/NAME (see its README.md). */
public final class ParityFixture {
    private final Path dir;
    private final JsonNode ref;

    private ParityFixture(Path dir) {
        this.dir = dir;
        try {
            this.ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code llama} or {@code gpt2}. */
    public static ParityFixture load(String name) {
        return new ParityFixture(TestModels.fixtures().resolve("parity").resolve(name));
    }

    public Path model() {
        return dir.resolve(ref.path("model").asText("model.onnx"));
    }

    public JsonNode json() {
        return ref;
    }

    /** A [rows][cols] int batch field (input_ids, attention_mask, position_ids, labels) flattened row-major. */
    public long[] batch(String field) {
        JsonNode rows = ref.path("batch").path(field);
        int r = rows.size();
        int c = rows.get(0).size();
        long[] out = new long[r * c];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < c; j++) {
                out[i * c + j] = rows.get(i).get(j).asLong();
            }
        }
        return out;
    }

    public long[] batchShape() {
        JsonNode rows = ref.path("batch").path("input_ids");
        return new long[] {rows.size(), rows.get(0).size()};
    }

    /** Reads a float32 little-endian blob described by {"file", "shape"}. */
    public float[] floats(JsonNode blob) {
        try {
            byte[] b = Files.readAllBytes(dir.resolve(blob.path("file").asText()));
            float[] out = new float[b.length / 4];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
