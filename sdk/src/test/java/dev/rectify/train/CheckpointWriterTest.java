package dev.rectify.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.Tensors;
import dev.rectify.ort.CheckpointState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointWriterTest {
    @TempDir
    Path tmp;

    static final float[] W = {1, 2, 3, 4, 5, 6};
    static final float[] B = {0.5f, -0.5f, 0.25f};

    CheckpointWriter writer() {
        return CheckpointWriter.create()
                .trainable(Tensors.ofFloats("w", W, 2, 3))
                .trainable(Tensors.ofFloats("b", B, 3))
                .frozen(Tensors.ofFloats("frozen", new float[] {9}, 1))
                .property("rectify.plan_hash", "abc")
                .property("steps", 7L)
                .property("lr", 0.5f);
    }

    @Test
    void inlineRoundTripsThroughTheReaderAndOrt() {
        Path ck = tmp.resolve("checkpoint");
        writer().write(ck);
        CheckpointFile f = CheckpointFile.read(ck);
        assertEquals(2, f.version());
        assertEquals(List.of("b", "w"), f.trainableNames(), "sorted by name, as ORT writes them");
        assertArrayEquals(W, f.tensor("w").floats());
        assertArrayEquals(new long[] {2, 3}, f.tensor("w").dims());
        assertEquals(9f, f.tensor("frozen").floats()[0]);
        assertEquals("abc", f.properties().get("rectify.plan_hash"));
        assertEquals(7L, f.properties().get("steps"));
        assertEquals(0.5f, f.properties().get("lr"));
        assertFalse(f.externalData());
        CheckpointFile resaved = throughOrt(ck);
        assertArrayEquals(W, resaved.tensor("w").floats());
        assertArrayEquals(B, resaved.tensor("b").floats());
        assertEquals(List.of("b", "w"), resaved.trainableNames());
        assertEquals(1, resaved.frozen().size());
    }

    @Test
    void externalDataGoesToDotData() {
        Path ck = tmp.resolve("ext");
        writer().externalData(true).write(ck);
        assertTrue(Files.isRegularFile(tmp.resolve("ext.data")));
        CheckpointFile f = CheckpointFile.read(ck);
        assertTrue(f.externalData());
        assertArrayEquals(B, f.tensor("b").floats());
        assertArrayEquals(W, f.tensor("w").floats());
        CheckpointFile resaved = throughOrt(ck);
        assertTrue(resaved.externalData(), "ORT keeps external data for a state loaded with it");
        assertArrayEquals(W, resaved.tensor("w").floats());
        assertArrayEquals(B, resaved.tensor("b").floats());
    }

    /** Loads {@code ck} in ORT (GetParameter needs a session, so values are checked by ORT's own re-save). */
    CheckpointFile throughOrt(Path ck) {
        Path out = tmp.resolve(ck.getFileName() + ".resaved");
        try (CheckpointState st = CheckpointState.load(ck)) {
            assertEquals("abc", st.property("rectify.plan_hash"));
            assertEquals(7L, st.property("steps"));
            assertEquals(0.5f, st.property("lr"));
            st.save(out, false);
        }
        return CheckpointFile.read(out);
    }

    @Test
    void nominalHasShapesButNoValues() {
        Path ck = tmp.resolve("nominal");
        writer().nominal(true).write(ck);
        CheckpointFile f = CheckpointFile.read(ck);
        assertTrue(f.nominal());
        assertNull(f.tensor("w").data());
        assertArrayEquals(new long[] {2, 3}, f.tensor("w").dims());
        try (CheckpointState st = CheckpointState.load(ck)) {
            assertEquals("abc", st.property("rectify.plan_hash"));
        }
    }

    @Test
    void readerRejectsOtherFiles() throws Exception {
        Path bad = tmp.resolve("bad");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        assertThrows(ModelFormatException.class, () -> CheckpointFile.read(bad));
        assertThrows(ModelFormatException.class, () -> CheckpointFile.read(tmp.resolve("missing")));
    }
}
