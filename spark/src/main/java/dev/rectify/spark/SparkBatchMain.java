package dev.rectify.spark;

import dev.rectify.core.InvalidArgumentException;
import java.io.PrintStream;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The spark-submit entry point:
 * <pre>
 * spark-submit --class dev.rectify.spark.SparkBatchMain rectify-spark-VERSION-all.jar MANIFEST
 *     [--out DIR] [--store DIR] [--model DIR] [--threads N] [--checkpoint-every STEPS]
 * </pre>
 * Prints one row per entry and a summary line; exit code 0 when every entry is done or was already done, 3 when
 * any failed, 2 for a bad command line, a bad manifest or {@code spark.speculation=true}.
 */
public final class SparkBatchMain {
    /** The exit code when one or more entries failed. */
    public static final int EXIT_FAILED = 3;
    /** The exit code for a bad command line or manifest. */
    public static final int EXIT_USAGE = 2;

    private static final String USAGE = "usage: spark-submit --class " + SparkBatchMain.class.getName()
            + " rectify-spark-all.jar MANIFEST [--out DIR] [--store DIR] [--model DIR] [--threads N] [--checkpoint-every STEPS]";

    private SparkBatchMain() {}

    public static void main(String[] args) {
        SparkBatchOptions options;
        try {
            options = parse(List.of(args));
        } catch (InvalidArgumentException e) {
            System.err.println("rectify-spark: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(EXIT_USAGE);
            return;
        }
        SparkConf conf = new SparkConf().setAppName("rectify-batch");
        int code;
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            code = run(sc, options, System.out, System.err);
        }
        System.exit(code);
    }

    /** Runs the batch on {@code sc}, prints the table and summary; returns the exit code. */
    static int run(JavaSparkContext sc, SparkBatchOptions options, PrintStream out, PrintStream err) {
        SparkBatchResult r;
        try {
            r = SparkBatch.run(sc, options);
        } catch (InvalidArgumentException e) {
            err.println("rectify-spark: " + e.getMessage());
            return EXIT_USAGE;
        }
        out.print(r.table());
        for (EntryResult e : r.entries()) {
            if (e.error() != null) {
                err.printf("rectify-spark: %s (line %d) failed: %s%n", e.name(), e.line(), e.error());
            }
        }
        return r.count(EntryResult.FAILED) > 0 ? EXIT_FAILED : 0;
    }

    /** Parses the command line (without Spark's own options, which spark-submit consumed). */
    static SparkBatchOptions parse(List<String> args) {
        String manifest = null;
        String out = null;
        String store = null;
        String model = null;
        int threads = 0;
        int checkpointEvery = 0;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            switch (a) {
                case "--out" -> out = value(args, ++i, a);
                case "--store" -> store = value(args, ++i, a);
                case "--model" -> model = value(args, ++i, a);
                case "--threads" -> threads = integer(value(args, ++i, a), a);
                case "--checkpoint-every" -> checkpointEvery = integer(value(args, ++i, a), a);
                default -> {
                    if (a.startsWith("-") || manifest != null) {
                        throw new InvalidArgumentException("unexpected argument '" + a + "'");
                    }
                    manifest = a;
                }
            }
        }
        if (manifest == null) {
            throw new InvalidArgumentException("no MANIFEST given");
        }
        return new SparkBatchOptions(manifest, out, store, model, threads, checkpointEvery);
    }

    private static String value(List<String> args, int i, String option) {
        if (i >= args.size()) {
            throw new InvalidArgumentException(option + " needs a value");
        }
        return args.get(i);
    }

    private static int integer(String v, String option) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException(option + " needs an integer, got '" + v + "'");
        }
    }
}
