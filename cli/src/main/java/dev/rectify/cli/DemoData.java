package dev.rectify.cli;

import dev.rectify.core.RectifyException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.ContentHash;
import dev.rectify.core.io.FileTrees;
import dev.rectify.model.BundledModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo's math data, shipped in the CLI jar under {@code rectify/data/math/} so {@code rectify demo} runs from any
 * folder. The readers take files, so the first use copies the files into
 * {@code $RECTIFY_HOME/data/math-<content hash>/} (written to a temporary folder, then renamed into place).
 */
final class DemoData {
    static final List<String> FILES = List.of("train.jsonl", "heldout.jsonl", "ood.jsonl");
    private static final String ROOT = "rectify/data/math/";

    private DemoData() {}

    /** The folder holding train/heldout/ood.jsonl of the bundled math data. */
    static synchronized Path math() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        MessageDigest sha = ContentHash.sha256();
        for (String f : FILES) {
            try (InputStream in = DemoData.class.getClassLoader().getResourceAsStream(ROOT + f)) {
                if (in == null) {
                    throw new RectifyException(
                            "the demo's data is not on the classpath (" + ROOT + f + "): pass --data-dir");
                }
                byte[] data = in.readAllBytes();
                files.put(f, data);
                sha.update(f.getBytes(StandardCharsets.UTF_8));
                sha.update(data);
            } catch (IOException e) {
                throw new RectifyException("cannot read " + ROOT + f + " from the classpath: " + e.getMessage(), e);
            }
        }
        Path target = BundledModel.home()
                .resolve("data")
                .resolve("math-" + ContentHash.hex(sha.digest()).substring(0, 12));
        if (Files.isDirectory(target)) {
            return target;
        }
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempDirectory(target.getParent(), ".math.");
            for (var e : files.entrySet()) {
                Files.write(tmp.resolve(e.getKey()), e.getValue());
            }
            if (AtomicFile.publishDirectory(tmp, target)) {
                tmp = null; // else another process wrote the same content first
            }
            return target;
        } catch (IOException e) {
            throw new RectifyException("cannot unpack the demo's data into " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                FileTrees.deleteQuietly(tmp);
            }
        }
    }
}
