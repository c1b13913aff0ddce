package dev.rectify.model;

import dev.rectify.core.ModelFormatException;
import dev.rectify.core.io.AtomicFile;
import dev.rectify.core.io.ContentHash;
import dev.rectify.core.io.FileTrees;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The default model shipped in the {@code rectify-models} jar ({@code rectify/models/rectify-tiny/}). ONNX Runtime
 * and the tokenizer read files, so the first use copies it, checksummed, into
 * {@code $RECTIFY_HOME/models/} (default {@code ~/.cache/rectify}); later uses find it there.
 */
public final class BundledModel {
    /** The bundled model's name. */
    public static final String NAME = "rectify-tiny";

    private static final String ROOT = "rectify/models/" + NAME + "/";

    private BundledModel() {}

    /** Rectify's cache and state folder: {@code -Drectify.home}, else {@code $RECTIFY_HOME}, else ~/.cache/rectify. */
    public static Path home() {
        String p = System.getProperty("rectify.home");
        if (p == null || p.isBlank()) {
            p = System.getenv("RECTIFY_HOME");
        }
        if (p == null || p.isBlank()) {
            p = System.getProperty("user.home") + "/.cache/rectify";
        }
        return Path.of(p);
    }

    /** The folder holding the bundled model's files, extracting them on first use. */
    public static synchronized Path directory() {
        List<String[]> index = readIndex();
        String version = sha256(String.join(
                                "\n", index.stream().map(e -> e[0] + " " + e[1]).toList())
                        .getBytes(StandardCharsets.UTF_8))
                .substring(0, 12);
        Path target = home().resolve("models").resolve(NAME + "-" + version);
        if (Files.isDirectory(target) && complete(target, index)) {
            return target;
        }
        try {
            Files.createDirectories(target.getParent());
            Path tmp = Files.createTempDirectory(target.getParent(), NAME + ".tmp");
            try {
                for (String[] e : index) {
                    extract(e[1], e[0], tmp.resolve(e[1]));
                }
                AtomicFile.publishDirectory(
                        tmp, target); // if another process finished first, its copy is checked below
            } finally {
                FileTrees.delete(tmp);
            }
        } catch (IOException e) {
            throw new ModelFormatException("cannot unpack the bundled model into " + target + ": " + e.getMessage(), e);
        }
        if (!complete(target, index)) {
            throw new ModelFormatException(
                    target + ": the bundled model's files do not match their checksums; delete the folder");
        }
        return target;
    }

    private static List<String[]> readIndex() {
        InputStream in = BundledModel.class.getClassLoader().getResourceAsStream(ROOT + "FILES");
        if (in == null) {
            throw new ModelFormatException("the bundled model is not on the classpath (" + ROOT + "FILES): add the "
                    + "rectify-models jar, or pass a model folder");
        }
        List<String[]> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (!line.isEmpty() && !line.startsWith("#")) {
                    String[] parts = line.split("\\s+", 2);
                    if (parts.length != 2 || parts[1].contains("..") || parts[1].startsWith("/")) {
                        throw new ModelFormatException(ROOT + "FILES: bad line '" + line + "'");
                    }
                    out.add(parts);
                }
            }
        } catch (IOException e) {
            throw new ModelFormatException("cannot read " + ROOT + "FILES: " + e.getMessage(), e);
        }
        return out;
    }

    private static boolean complete(Path dir, List<String[]> index) {
        for (String[] e : index) {
            Path f = dir.resolve(e[1]);
            try {
                if (!Files.isRegularFile(f) || !sha256(Files.readAllBytes(f)).equals(e[0])) {
                    return false;
                }
            } catch (IOException ex) {
                return false;
            }
        }
        return true;
    }

    private static void extract(String name, String sha, Path to) throws IOException {
        try (InputStream in = BundledModel.class.getClassLoader().getResourceAsStream(ROOT + name)) {
            if (in == null) {
                throw new ModelFormatException("the bundled model lacks " + ROOT + name);
            }
            byte[] data = in.readAllBytes();
            if (!sha256(data).equals(sha)) {
                throw new ModelFormatException(ROOT + name + ": checksum mismatch in the rectify-models jar");
            }
            Files.createDirectories(to.getParent());
            try (OutputStream out = Files.newOutputStream(to)) {
                out.write(data);
            }
            try (FileChannel ch = FileChannel.open(to, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
        }
    }

    static String sha256(byte[] data) {
        return ContentHash.of(data);
    }
}
