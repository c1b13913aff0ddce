package dev.rectify.ort;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.GraphBuilder;
import dev.rectify.onnx.ModelBuilder;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.Tensors;
import dev.rectify.onnx.proto.OnnxProto.TensorProto.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InferenceSessionTest {
    /** Z = X + Y (broadcast Y [1, n]) and C = Cast(X > 0, bool). */
    static byte[] addModel() {
        GraphBuilder g = GraphBuilder.create("add")
                .input("X", DataType.FLOAT, "batch", 3)
                .input("Y", DataType.FLOAT, 1, 3)
                .output("Z", DataType.FLOAT, "batch", 3)
                .output("C", DataType.BOOL, "batch", 3);
        g.node("Add", List.of("X", "Y"), List.of("Z"));
        g.node("Greater", List.of("X", "zero"), List.of("C"));
        g.initializer(Tensors.scalar("zero", 0f));
        return ModelBuilder.create().graph(g).build().toBytes();
    }

    @Test
    void runsAModelAndDescribesItsIo() {
        OrtRuntime rt = OrtRuntime.get();
        assertTrue(rt.version().startsWith("1."), rt.version());
        assertTrue(
                rt.availableProviders().contains("CPUExecutionProvider"),
                rt.availableProviders().toString());
        assertTrue(rt.trainingAvailable());
        try (InferenceSession s = InferenceSession.fromBytes(
                        addModel(),
                        "add",
                        SessionConfig.builder().intraOpThreads(1).build());
                Tensor x = Tensor.ofFloats(new float[] {1, -2, 3, 4, 5, -6}, 2, 3);
                Tensor y = Tensor.ofFloats(new float[] {10, 20, 30}, 1, 3);
                Outputs out = s.run(Map.of("X", x, "Y", y), List.of("Z", "C"))) {
            assertEquals(
                    List.of("X", "Y"), s.inputs().stream().map(ValueInfo::name).toList());
            assertArrayEquals(new long[] {-1, 3}, s.input("X").shape());
            assertEquals("batch", s.input("X").dimNames().get(0));
            assertEquals(ElementType.FLOAT, s.input("X").type());
            assertArrayEquals(new float[] {11, 18, 33, 14, 25, 24}, out.get("Z").toFloats());
            assertArrayEquals(new long[] {2, 3}, out.get("Z").shape());
            assertArrayEquals(
                    new boolean[] {true, false, true, true, true, false},
                    out.get("C").toBooleans());
        }
    }

    @Test
    void aSharedArenaGrowingAsRequestedRunsLikeTheDefaultOne() {
        SessionConfig exact =
                SessionConfig.builder().arenaGrowth(ArenaGrowth.AS_REQUESTED).build();
        assertEquals(ArenaGrowth.POWER_OF_TWO, SessionConfig.defaults().arenaGrowth());
        assertNotEquals(SessionConfig.defaults(), exact);
        assertEquals(exact, exact.toBuilder().build());
        assertTrue(exact.toString().contains("arena grows as requested"), exact.toString());
        float[][] results = new float[2][];
        SessionConfig[] configs = {SessionConfig.defaults(), exact};
        for (int i = 0; i < 2; i++) {
            try (InferenceSession s = InferenceSession.fromBytes(addModel(), "add", configs[i]);
                    Tensor x = Tensor.ofFloats(new float[] {1, -2, 3}, 1, 3);
                    Tensor y = Tensor.ofFloats(new float[] {10, 20, 30}, 1, 3);
                    Outputs out = s.run(Map.of("X", x, "Y", y), List.of("Z"))) {
                results[i] = out.get("Z").toFloats();
            }
        }
        assertArrayEquals(new float[] {11, 18, 33}, results[1]);
        assertArrayEquals(results[0], results[1]);
        // the environment holds one shared CPU arena: a second growth for it is refused, clearly
        var e = assertThrows(OrtException.class, () -> OrtRuntime.get().registerCpuArena(ArenaGrowth.POWER_OF_TWO));
        assertTrue(e.getMessage().contains("already grows AS_REQUESTED"), e.getMessage());
    }

    @Test
    void handlesEmptyTensors() {
        try (InferenceSession s = InferenceSession.fromBytes(addModel(), "add", SessionConfig.defaults());
                Tensor x = Tensor.zeros(ElementType.FLOAT, 0, 3);
                Tensor y = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
                Outputs out = s.run(Map.of("X", x, "Y", y), List.of("Z"))) {
            assertArrayEquals(new long[] {0, 3}, out.get("Z").shape());
            assertEquals(0, out.get("Z").toFloats().length);
        }
    }

    @Test
    void tensorsRoundTripAndCheckTheirShape() {
        try (Tensor l = Tensor.ofLongs(new long[] {1, 2, 3, 4}, 2, 2)) {
            assertArrayEquals(new long[] {1, 2, 3, 4}, l.toLongs());
            assertEquals(ElementType.INT64, l.type());
            assertThrows(InvalidArgumentException.class, l::toFloats);
        }
        assertThrows(InvalidArgumentException.class, () -> Tensor.ofFloats(new float[3], 2, 2));
        assertThrows(InvalidArgumentException.class, () -> Tensor.zeros(ElementType.FLOAT, -1));
        Tensor t = Tensor.ofFloats(new float[] {1}, 1);
        t.close();
        t.close();
        assertThrows(IllegalStateException.class, t::toFloats);
    }

    @Test
    void badNamesAreTypedErrorsNamingTheChoices() {
        try (InferenceSession s = InferenceSession.fromBytes(addModel(), "add", SessionConfig.defaults());
                Tensor x = Tensor.ofFloats(new float[3], 1, 3)) {
            var e = assertThrows(InvalidArgumentException.class, () -> s.run(Map.of("nope", x), List.of("Z")));
            assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("[X, Y]"), e.getMessage());
            var e2 = assertThrows(InvalidArgumentException.class, () -> s.run(Map.of("X", x), List.of("W")));
            assertTrue(e2.getMessage().contains("W"), e2.getMessage());
            // a missing feed is ORT's error, carried with its message
            var e3 = assertThrows(OrtException.class, () -> s.run(Map.of("X", x), List.of("Z")));
            assertTrue(e3.getMessage().contains("Y"), e3.getMessage());
        }
    }

    @Test
    void corruptOrMissingModelsAreModelFormatErrors(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("model.onnx");
        Files.write(bad, new byte[] {1, 2, 3, 4, 5, 6, 7});
        var e = assertThrows(ModelFormatException.class, () -> InferenceSession.open(bad, SessionConfig.defaults()));
        assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
        var e2 = assertThrows(
                ModelFormatException.class,
                () -> InferenceSession.open(dir.resolve("absent.onnx"), SessionConfig.defaults()));
        assertTrue(e2.getMessage().contains("absent.onnx"), e2.getMessage());
    }

    @Test
    void anOpTheCpuProviderLacksIsAModelFormatError() {
        // Conv exists, but the CPU provider has no double kernel for it
        GraphBuilder h = GraphBuilder.create("fp64")
                .input("X", DataType.DOUBLE, 1, 1, 3, 3)
                .input("W", DataType.DOUBLE, 1, 1, 2, 2)
                .output("Y", DataType.DOUBLE, 1, 1, 2, 2);
        h.node("Conv", List.of("X", "W"), List.of("Y"));
        byte[] fp16 = ModelBuilder.create().graph(h).build().toBytes();
        var e0 = assertThrows(
                ModelFormatException.class, () -> InferenceSession.fromBytes(fp16, "fp64", SessionConfig.defaults()));
        assertTrue(e0.getMessage().contains("Conv"), e0.getMessage());
        // an op type that exists in no registered domain is refused the same way
        GraphBuilder g =
                GraphBuilder.create("unknown").input("X", DataType.FLOAT, 2).output("Y", DataType.FLOAT, 2);
        g.node("com.example", "FancyOp", List.of("X"), List.of("Y"));
        byte[] model =
                ModelBuilder.create().opset("com.example", 1).graph(g).build().toBytes();
        var e = assertThrows(
                ModelFormatException.class, () -> InferenceSession.fromBytes(model, "fancy", SessionConfig.defaults()));
        assertTrue(e.getMessage().contains("FancyOp"), e.getMessage());
    }

    @Test
    void cudaWithoutCudaNativesFailsClearly() {
        var e = assertThrows(
                OrtException.class,
                () -> InferenceSession.fromBytes(
                        addModel(),
                        "add",
                        SessionConfig.builder()
                                .provider(ExecutionProvider.cuda(0))
                                .build()));
        assertTrue(e.getMessage().contains("CUDA"), e.getMessage());
    }

    @Test
    void runsConcurrently() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (InferenceSession s = InferenceSession.fromBytes(
                addModel(), "add", SessionConfig.builder().intraOpThreads(1).build())) {
            List<Future<float[]>> results = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                final float v = i;
                results.add(pool.submit(() -> {
                    try (Tensor x = Tensor.ofFloats(new float[] {v, v, v}, 1, 3);
                            Tensor y = Tensor.ofFloats(new float[] {1, 1, 1}, 1, 3);
                            Outputs o = s.run(Map.of("X", x, "Y", y), List.of("Z"))) {
                        return o.get("Z").toFloats();
                    }
                }));
            }
            for (int i = 0; i < 64; i++) {
                assertArrayEquals(
                        new float[] {i + 1, i + 1, i + 1}, results.get(i).get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void opensFromFileWithExternalData(@TempDir Path dir) {
        Path file = dir.resolve("m.onnx");
        OnnxModel.parse(addModel()).write(file, "m.onnx.data", 0);
        try (InferenceSession s = InferenceSession.open(file, SessionConfig.defaults());
                Tensor x = Tensor.ofFloats(new float[] {1, 1, 1}, 1, 3);
                Tensor y = Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
                Outputs o = s.run(Map.of("X", x, "Y", y), List.of("Z"))) {
            assertArrayEquals(new float[] {2, 3, 4}, o.get("Z").toFloats());
        }
    }
}
