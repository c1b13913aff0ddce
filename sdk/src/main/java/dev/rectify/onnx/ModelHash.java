package dev.rectify.onnx;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.UnsafeByteOperations;
import dev.rectify.core.ModelFormatException;
import dev.rectify.core.io.ContentHash;
import dev.rectify.onnx.proto.OnnxProto.ModelProto;
import dev.rectify.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.rectify.onnx.proto.OnnxProto.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/** sha-256 of a model file together with every external data file its initializers refer to. */
public final class ModelHash {
    private record Stamp(Path path, long size, long modified) {}

    private static final Map<Stamp, String> MEMO = new ConcurrentHashMap<>();

    private ModelHash() {}

    /** The model's content hash (memoised by path, size and modification time). */
    public static String of(Path model) {
        try {
            Path abs = model.toAbsolutePath().normalize();
            Stamp stamp = new Stamp(
                    abs, Files.size(abs), Files.getLastModifiedTime(abs).toMillis());
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
        MessageDigest md = ContentHash.sha256();
        md.update(bytes.duplicate());
        TreeSet<String> locations = new TreeSet<>();
        CodedInputStream cin =
                UnsafeByteOperations.unsafeWrap(bytes.duplicate()).newCodedInput(); // aliased: no copy
        cin.enableAliasing(true);
        cin.setSizeLimit(Integer.MAX_VALUE);
        for (TensorProto t :
                OnnxModel.of(ModelProto.parseFrom(cin)).proto().getGraph().getInitializerList()) {
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
            md.update(("\0" + loc + "\0").getBytes(StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(f)) {
                byte[] buf = new byte[1 << 20];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                }
            }
        }
        return ContentHash.hex(md.digest());
    }
}
