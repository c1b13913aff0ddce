package dev.rectify.ort;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * JavaCPP's limit on the process's native memory (twice the Java heap by default) must not apply to the memory ONNX
 * Runtime holds: a JVM with a 64 MiB heap holds a 320 MB ORT tensor and still creates tensors. The same child with
 * the limit set explicitly fails, so the check can fail and an application's own setting is respected.
 */
class NativeMemoryLimitTest {
    /** Allocates a 320 MB tensor through ORT's allocator (zero-filled, so resident), then a small one. */
    public static void main(String[] args) {
        try (Tensor big = Tensor.zeros(ElementType.FLOAT, 80_000_000);
                Tensor small = Tensor.zeros(ElementType.FLOAT, 1)) {
            System.out.println("allocated " + big.shape()[0] + " + " + small.shape()[0] + " floats");
        }
    }

    @Test
    void ortMemoryDoesNotCountAgainstJavaCppsHeapBasedLimit() throws Exception {
        OrtRuntime.get();
        assertEquals("0", System.getProperty(OrtRuntime.MAX_PHYSICAL_BYTES));
        Result lifted = child(List.of());
        assertEquals(0, lifted.exit, lifted.output);
        assertTrue(lifted.output.contains("allocated 80000000 + 1 floats"), lifted.output);
        Result limited = child(List.of("-D" + OrtRuntime.MAX_PHYSICAL_BYTES + "=128m"));
        assertNotEquals(0, limited.exit, limited.output);
        assertTrue(limited.output.contains("OutOfMemoryError"), limited.output);
    }

    private record Result(int exit, String output) {}

    private static Result child(List<String> props) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx64m");
        cmd.add("-Dai.djl.offline=true");
        cmd.addAll(props);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(NativeMemoryLimitTest.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child finished");
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
