package dev.rectify.spark;

import dev.rectify.core.InvalidArgumentException;
import dev.rectify.job.BatchManifest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Batch adaptation on Spark: the entries of a batch manifest (the format of the CLI's {@code rectify batch}, parsed by
 * the SDK's {@link BatchManifest}) as one Spark task each, spread over the executors; each task runs its fine-tune
 * through the SDK's job service ({@link EntryTask}). Adapters, job states and checkpoints live on storage every
 * executor sees, so a rerun of the same manifest skips finished fine-tunes and resumes interrupted ones.
 * <pre>{@code
 * SparkBatchResult r = SparkBatch.run(sc, SparkBatchOptions.of(manifest, outDir, storeDir));
 * System.out.println(r.summaryLine());
 * }</pre>
 */
public final class SparkBatch {
    private SparkBatch() {}

    /**
     * Runs every entry of the manifest on {@code sc} and returns their outcomes in manifest order; writes the summary
     * to {@code <out>/<manifest name>.summary.json}. The manifest is checked on the driver first (a bad manifest
     * throws before any task starts). A cancelled Spark job or a stopped context throws Spark's exception; what
     * finished before stays finished. Refuses {@code spark.speculation=true}: two copies of one fine-tune must
     * never train on one job state at once.
     */
    public static SparkBatchResult run(JavaSparkContext sc, SparkBatchOptions options) {
        long t0 = System.nanoTime();
        if (sc.getConf().getBoolean("spark.speculation", false)) {
            throw new InvalidArgumentException("spark.speculation=true would run two copies of a fine-tune on one job "
                    + "state at once: set it to false for the batch");
        }
        List<BatchManifest.Job> jobs = BatchManifest.read(options.manifestPath(), options.outPath());
        List<String> names = jobs.stream().map(BatchManifest.Job::name).toList();
        sc.setJobDescription(
                "rectify batch " + options.manifestPath().getFileName() + " (" + names.size() + " fine-tunes)");
        // one partition per entry: one task per fine-tune, scheduled in manifest order
        List<EntryResult> results = new ArrayList<>(
                sc.parallelize(names, names.size()).map(new EntryTask(options)).collect());
        results.sort(Comparator.comparingInt(EntryResult::line));
        SparkBatchResult r = new SparkBatchResult(results, (System.nanoTime() - t0) / 1e9);
        r.write(options.outPath()
                .resolve(options.manifestPath().getFileName().toString().replaceFirst("\\.jsonl?$", "")
                        + ".summary.json"));
        return r;
    }
}
