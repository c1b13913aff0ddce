package dev.rectify.cli;

import dev.rectify.core.RectifyException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code rectify} command line: {@code rectify <command> [options]}; {@code --help} on every command. */
@Command(
        name = "rectify",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Fine-tune and serve ONNX causal language models on the JVM.",
        subcommands = {
            DemoCommand.class,
            GenerateCommand.class,
            FinetuneCommand.class,
            EvalCommand.class,
            BatchCommand.class,
            ExportCommand.class,
            CommandLine.HelpCommand.class
        })
public final class RectifyCli {
    /** Shared by every command: print stack traces on errors. */
    @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT, description = "Print stack traces on errors.")
    boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI and returns its exit code (0 ok, 1 failure, 2 usage error). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        CommandLine cl = new CommandLine(new RectifyCli());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            boolean verbose = parsed.matchedOption("--verbose") != null
                    || parsed.subcommands().stream().anyMatch(p -> p.matchedOption("--verbose") != null);
            String what = e instanceof RectifyException
                    ? e.getMessage()
                    : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
            cmd.getErr().println("rectify: error: " + what);
            if (verbose) {
                e.printStackTrace(cmd.getErr());
            } else if (!(e instanceof RectifyException)) {
                cmd.getErr().println("(run again with --verbose for the stack trace)");
            }
            cmd.getErr().flush();
            return 1;
        });
        return cl.execute(args);
    }
}
