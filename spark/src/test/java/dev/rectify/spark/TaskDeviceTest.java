package dev.rectify.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.ort.Device;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The task's device from Spark's resources, and the spark-submit command line. */
class TaskDeviceTest {
    @Test
    void aTaskWithAGpuAddressTrainsOnThatCudaDeviceAndOtherwiseOnItsCpus() {
        assertEquals(Device.cuda(1), TaskDevice.choose(Map.of("gpu", new String[] {"1"}), 4, 0));
        assertEquals(Device.cuda(0), TaskDevice.choose(Map.of("gpu", new String[] {" 0", "3"}), 4, 8));
        assertEquals(Device.cpu(4), TaskDevice.choose(Map.of(), 4, 0));
        assertEquals(Device.cpu(2), TaskDevice.choose(Map.of("fpga", new String[] {"0"}), 4, 2));
        assertEquals(Device.cpu(1), TaskDevice.choose(Map.of("gpu", new String[0]), 0, 0));
        InvalidArgumentException e = assertThrows(
                InvalidArgumentException.class,
                () -> TaskDevice.choose(Map.of("gpu", new String[] {"GPU-8f3e"}), 1, 0));
        assertTrue(e.getMessage().contains("'GPU-8f3e'") && e.getMessage().contains("discoveryScript"), e.getMessage());
    }

    @Test
    void theCommandLineNamesTheManifestAndTheSharedFolders() {
        SparkBatchOptions o = SparkBatchMain.parse(List.of(
                "/data/jobs.jsonl",
                "--store",
                "/shared/adapters",
                "--out",
                "/shared/batch",
                "--threads",
                "4",
                "--checkpoint-every",
                "10",
                "--model",
                "/shared/models/m"));
        assertEquals(
                new SparkBatchOptions(
                        "/data/jobs.jsonl", "/shared/batch", "/shared/adapters", "/shared/models/m", 4, 10),
                o);
        assertEquals(Path.of("/shared/batch/runs"), o.runsPath());
        assertEquals(
                "/data",
                SparkBatchMain.parse(List.of("/data/jobs.jsonl")).out(),
                "out defaults to the manifest's folder");
        assertTrue(assertThrows(InvalidArgumentException.class, () -> SparkBatchMain.parse(List.of("--store", "/s")))
                .getMessage()
                .contains("no MANIFEST"));
        assertTrue(assertThrows(
                        InvalidArgumentException.class,
                        () -> SparkBatchMain.parse(List.of("m.jsonl", "--threads", "x")))
                .getMessage()
                .contains("--threads needs an integer"));
        assertTrue(assertThrows(
                        InvalidArgumentException.class, () -> SparkBatchMain.parse(List.of("m.jsonl", "--thread", "2")))
                .getMessage()
                .contains("unexpected argument '--thread'"));
    }
}
