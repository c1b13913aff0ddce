package dev.rectify.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.rectify.Rectify;
import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The SDK's module descriptor exports every SDK package that its clients in this repository import (the CLI, the
 * server, the samples, rectify-langchain4j) and keeps exactly the packages named in docs/architecture.md internal,
 * so a new package needs a decision.
 */
class ModuleExportsTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern IMPORT =
            Pattern.compile("^import (?:static )?(dev\\.rectify(?:\\.[a-z0-9]+)*)\\.[A-Z]", Pattern.MULTILINE);

    /** The descriptor compiled beside the SDK's classes (target/classes/module-info.class). */
    private static ModuleDescriptor descriptor() throws IOException, URISyntaxException {
        Path classes = Path.of(Rectify.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .toURI());
        Path file = Files.isDirectory(classes) ? classes.resolve("module-info.class") : null;
        assertNotNull(file, "the SDK's classes are not a folder: " + classes);
        Set<String> packages = new TreeSet<>();
        try (Stream<Path> s = Files.walk(classes)) {
            s.filter(p -> p.toString().endsWith(".class")
                            && !p.getFileName().toString().equals("module-info.class"))
                    .forEach(p -> packages.add(
                            classes.relativize(p.getParent()).toString().replace('/', '.')));
        }
        try (InputStream in = Files.newInputStream(file)) {
            return ModuleDescriptor.read(in, () -> packages);
        }
    }

    private static Set<String> exported(ModuleDescriptor d) {
        return d.exports().stream()
                .filter(e -> !e.isQualified())
                .map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void theModuleIsNamedAndKeepsOnlyTheDocumentedPackagesInternal() throws IOException, URISyntaxException {
        ModuleDescriptor d = descriptor();
        assertEquals("dev.rectify.sdk", d.name());
        Set<String> internal = new TreeSet<>(d.packages());
        internal.removeAll(exported(d));
        assertEquals(
                Set.of("dev.rectify.canon", "dev.rectify.generate.jinja"),
                internal,
                "a new SDK package is exported or kept internal by a decision: update module-info.java and docs/architecture.md");
    }

    @Test
    void everySdkPackageTheClientsImportIsExported() throws IOException, URISyntaxException {
        ModuleDescriptor d = descriptor();
        Set<String> exported = exported(d);
        Set<String> missing = new TreeSet<>();
        int files = 0;
        for (String dir : List.of("cli/src", "server-example/src", "samples", "langchain4j/src")) {
            Path root = ROOT.resolve(dir);
            assertTrue(Files.isDirectory(root), root + " is missing");
            try (Stream<Path> s = Files.walk(root)) {
                for (Path f : s.filter(p -> p.toString().endsWith(".java")).toList()) {
                    files++;
                    Matcher m = IMPORT.matcher(Files.readString(f));
                    while (m.find()) {
                        String pkg = m.group(1);
                        if (d.packages().contains(pkg) && !exported.contains(pkg)) {
                            missing.add(pkg + " (" + ROOT.relativize(f) + ")");
                        }
                    }
                }
            }
        }
        assertTrue(files > 50, "found only " + files + " client sources");
        assertEquals(Set.of(), missing, "client code imports packages the SDK module does not export");
    }
}
