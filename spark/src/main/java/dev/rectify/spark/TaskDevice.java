package dev.rectify.spark;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.ort.Device;
import java.util.Map;

/**
 * The device a Spark task trains on. When the application asks for GPUs ({@code spark.task.resource.gpu.amount}),
 * Spark gives each task its own GPU addresses ({@code TaskContext.resources()}); the task opens the base model on
 * CUDA device {@code addresses[0]}. Without GPU resources the task trains on the CPU with its share of the executor's
 * cores ({@code spark.task.cpus}), or the thread count the job was given.
 */
final class TaskDevice {
    /** Spark's resource name for GPUs. */
    static final String GPU = "gpu";

    private TaskDevice() {}

    /**
     * The device for a task holding {@code resources} (resource name to addresses) and {@code taskCpus} cores;
     * {@code threads > 0} overrides the CPU thread count.
     */
    static Device choose(Map<String, String[]> resources, int taskCpus, int threads) {
        String[] gpus = resources.get(GPU);
        if (gpus != null && gpus.length > 0) {
            String address = gpus[0].trim();
            try {
                int id = Integer.parseInt(address);
                if (id >= 0) {
                    return Device.cuda(id);
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new InvalidArgumentException("Spark gave this task the GPU address '" + gpus[0] + "', which is not a "
                    + "CUDA device index: make the GPU discovery script (spark.executor.resource.gpu.discoveryScript) "
                    + "print indices such as [\"0\", \"1\"], not UUIDs");
        }
        return Device.cpu(threads > 0 ? threads : Math.max(1, taskCpus));
    }
}
