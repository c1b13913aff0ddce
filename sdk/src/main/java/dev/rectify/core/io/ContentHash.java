package dev.rectify.core.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 in hex: the project's one place for content hashes (model files are hashed by {@code onnx.ModelHash}). */
public final class ContentHash {
    private ContentHash() {}

    /** A fresh SHA-256 digest. */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Lower-case hex of {@code digest}. */
    public static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    /** sha-256 of a UTF-8 string, in hex. */
    public static String of(String text) {
        return hex(sha256().digest(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** sha-256 of {@code data}, in hex. */
    public static String of(byte[] data) {
        return hex(sha256().digest(data));
    }

    /** sha-256 of a file's bytes, in hex, read in 1 MiB blocks (any size: the file is never held in memory). */
    public static String of(Path file) throws IOException {
        MessageDigest d = sha256();
        byte[] block = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(block)) > 0; ) {
                d.update(block, 0, n);
            }
        }
        return hex(d.digest());
    }
}
