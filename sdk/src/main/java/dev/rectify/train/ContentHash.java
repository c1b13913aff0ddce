package dev.rectify.train;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.rectify.ModelFormatException;
import dev.rectify.onnx.OnnxModel;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/** sha-256 of a model file together with every external data file its initializers refer to. */
public final class ContentHash {
    private record Stamp(Path path, long size, long modified) {
    }

    private static final Map<Stamp, String> MEMO = new ConcurrentHashMap<>();

    private ContentHash() {
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] digest) {
        return HexFormat.of().formatHex(digest);
    }

    /** sha-256 of a UTF-8 string, in hex. */
    public static String of(String text) {
        return hex(sha256().digest(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** The model's content hash (memoised by path, size and modification time). */
    public static String ofModel(Path model) {
        try {
            Path abs = model.toAbsolutePath().normalize();
            Stamp stamp = new Stamp(abs, Files.size(abs), Files.getLastModifiedTime(abs).toMillis());
            String h = MEMO.get(stamp);
            if (h == null) {
                h = compute(abs);
                MEMO.put(stamp, h);
            }
            return h;
        } catch (IOException e) {
            throw ModelFormatException.at(model, "cannot read: " + e.getMessage(), e);
        }
    }

    private static String compute(Path model) throws IOException {
        // memory-mapped and parsed with aliasing: the weights are digested without entering the Java heap
        MappedByteBuffer bytes;
        try (FileChannel ch = FileChannel.open(model)) {
            bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
        }
        MessageDigest md = sha256();
        md.update(bytes.duplicate());
        TreeSet<String> locations = new TreeSet<>();
        CodedInputStream cin = UnsafeByteOperations.unsafeWrap(bytes.duplicate()).newCodedInput(); // aliased: no copy
        cin.enableAliasing(true);
        cin.setSizeLimit(Integer.MAX_VALUE);
        for (TensorProto t : OnnxModel.of(ModelProto.parseFrom(cin)).proto().getGraph()
                .getInitializerList()) {
            if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                for (StringStringEntryProto e : t.getExternalDataList()) {
                    if (e.getKey().equals("location")) {
                        locations.add(e.getValue());
                    }
                }
            }
        }
        for (String loc : locations) {
            Path f = model.getParent().resolve(loc);
            md.update(("\0" + loc + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(f)) {
                byte[] buf = new byte[1 << 20];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
        }
        return hex(md.digest());
    }
}
