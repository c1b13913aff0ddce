package dev.rectify.train;

import com.google.flatbuffers.Table;
import dev.rectify.core.ModelFormatException;
import dev.rectify.onnx.Tensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed ONNX Runtime training checkpoint ({@code ODTC} flatbuffer), read without ORT: tensors (values loaded from
 * {@code <file>.data} when external), flags, optimizer groups and the property bag. For checks and tests; the
 * whole file is read into memory.
 *
 * @param properties Long, Float or String values by name
 */
public record CheckpointFile(
        int version,
        List<Entry> trainable,
        List<Entry> frozen,
        boolean nominal,
        boolean externalData,
        List<OptimizerGroup> optimizerGroups,
        Map<String, Object> properties) {

    /** One tensor. {@code data} is null for a nominal state. */
    public record Entry(String name, long[] dims, int dataType, ByteBuffer data) {
        /** The values as floats (FLOAT tensors). */
        public float[] floats() {
            float[] f = new float[data.remaining() / 4];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        }
    }

    /** An optimizer group: its step, initial learning rate and per-parameter moments. */
    public record OptimizerGroup(String name, long step, float initialLearningRate, Map<String, List<Entry>> moments) {}

    /** Names of the trainable tensors, in file order. */
    public List<String> trainableNames() {
        return trainable.stream().map(Entry::name).toList();
    }

    /** A trainable or frozen tensor by name, or null. */
    public Entry tensor(String name) {
        for (Entry e : trainable) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        for (Entry e : frozen) {
            if (e.name().equals(name)) {
                return e;
            }
        }
        return null;
    }

    /** Reads and verifies the identifier and version; throws {@link ModelFormatException} naming the file. */
    public static CheckpointFile read(Path file) {
        ByteBuffer bb;
        try {
            bb = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        } catch (NoSuchFileException e) {
            throw ModelFormatException.at(file, "checkpoint not found", e);
        } catch (IOException e) {
            throw ModelFormatException.at(file, "cannot read checkpoint: " + e.getMessage(), e);
        }
        try {
            return parse(file, bb);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw ModelFormatException.at(file, "corrupt training checkpoint (" + e + ")", e);
        }
    }

    private static CheckpointFile parse(Path file, ByteBuffer bb) {
        if (bb.capacity() < 8) {
            throw ModelFormatException.at(file, "not a training checkpoint (too short)");
        }
        byte[] id = new byte[4];
        bb.get(4, id);
        if (!new String(id, StandardCharsets.US_ASCII).equals("ODTC")) {
            throw ModelFormatException.at(
                    file,
                    "not an ONNX Runtime training checkpoint (identifier '"
                            + new String(id, StandardCharsets.ISO_8859_1) + "', expected 'ODTC')");
        }
        T root = new T().at(bb.getInt(0), bb);
        int version = root.intField(0, 0);
        T module = root.table(1);
        if (module == null) {
            throw ModelFormatException.at(file, "checkpoint has no module state");
        }
        boolean nominal = module.boolField(2);
        boolean external = module.boolField(3);
        DataFile data = external ? new DataFile(Path.of(file.toAbsolutePath() + ".data")) : null;
        List<Entry> req = tensors(module, 0, data);
        List<Entry> frz = tensors(module, 1, data);
        List<OptimizerGroup> groups = new ArrayList<>();
        for (int i = 0; i < root.vectorLength(2); i++) {
            T g = root.vectorTable(2, i);
            Map<String, List<Entry>> moments = new LinkedHashMap<>();
            for (int j = 0; j < g.vectorLength(3); j++) {
                T ps = g.vectorTable(3, j);
                moments.put(ps.string(0), tensors(ps, 1, null));
            }
            groups.add(new OptimizerGroup(g.string(0), g.longField(1, 0), g.floatField(2), moments));
        }
        Map<String, Object> props = new LinkedHashMap<>();
        T bag = root.table(3);
        if (bag != null) {
            for (int i = 0; i < bag.vectorLength(0); i++) {
                T p = bag.vectorTable(0, i);
                props.put(p.string(0), p.longField(1, 0));
            }
            for (int i = 0; i < bag.vectorLength(1); i++) {
                T p = bag.vectorTable(1, i);
                props.put(p.string(0), p.floatField(1));
            }
            for (int i = 0; i < bag.vectorLength(2); i++) {
                T p = bag.vectorTable(2, i);
                props.put(p.string(0), p.string(1));
            }
        }
        return new CheckpointFile(
                version,
                req,
                frz,
                nominal,
                external,
                Collections.unmodifiableList(groups),
                Collections.unmodifiableMap(props));
    }

    private static List<Entry> tensors(T owner, int slot, DataFile data) {
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < owner.vectorLength(slot); i++) {
            T t = owner.vectorTable(slot, i);
            String name = t.string(0);
            int nd = t.vectorLength(2);
            long[] dims = new long[nd];
            int dimsStart = t.vectorStart(2);
            for (int d = 0; d < nd; d++) {
                dims[d] = t.buffer().getLong(dimsStart + 8 * d);
            }
            int type = t.intField(3, 0);
            long extOffset = t.longField(6, -1);
            ByteBuffer bytes = null;
            if (extOffset >= 0 && data != null) {
                long n = 1;
                for (long d : dims) {
                    n *= d;
                }
                bytes = data.read(extOffset, n * Tensors.elementSize(type), name);
            } else if (t.has(4)) {
                int len = t.vectorLength(4);
                bytes = len == 0
                        ? null
                        : t.buffer()
                                .duplicate()
                                .position(t.vectorStart(4))
                                .limit(t.vectorStart(4) + len)
                                .slice()
                                .order(ByteOrder.LITTLE_ENDIAN);
            }
            out.add(new Entry(name, dims, type, bytes));
        }
        return Collections.unmodifiableList(out);
    }

    private record DataFile(Path path) {
        ByteBuffer read(long offset, long length, String tensor) {
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                if (offset + length > ch.size()) {
                    throw ModelFormatException.at(
                            path,
                            "external data of '" + tensor + "' needs bytes [" + offset + ", " + (offset + length)
                                    + ") but the file has " + ch.size());
                }
                ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(length)).order(ByteOrder.LITTLE_ENDIAN);
                while (b.hasRemaining()) {
                    if (ch.read(b, offset + b.position()) < 0) {
                        break;
                    }
                }
                return b.flip();
            } catch (IOException e) {
                throw ModelFormatException.at(path, "cannot read checkpoint external data: " + e.getMessage(), e);
            }
        }
    }

    /** Generic table access by field slot. */
    private static final class T extends Table {
        T at(int pos, ByteBuffer bb) {
            __reset(pos, bb);
            return this;
        }

        ByteBuffer buffer() {
            return bb;
        }

        private int off(int slot) {
            return __offset(4 + 2 * slot);
        }

        boolean has(int slot) {
            return off(slot) != 0;
        }

        int intField(int slot, int dflt) {
            int o = off(slot);
            return o == 0 ? dflt : bb.getInt(bb_pos + o);
        }

        long longField(int slot, long dflt) {
            int o = off(slot);
            return o == 0 ? dflt : bb.getLong(bb_pos + o);
        }

        float floatField(int slot) {
            int o = off(slot);
            return o == 0 ? 0f : bb.getFloat(bb_pos + o);
        }

        boolean boolField(int slot) {
            int o = off(slot);
            return o != 0 && bb.get(bb_pos + o) != 0;
        }

        String string(int slot) {
            int o = off(slot);
            return o == 0 ? null : __string(bb_pos + o);
        }

        T table(int slot) {
            int o = off(slot);
            return o == 0 ? null : new T().at(__indirect(bb_pos + o), bb);
        }

        int vectorLength(int slot) {
            int o = off(slot);
            return o == 0 ? 0 : __vector_len(o);
        }

        int vectorStart(int slot) {
            return __vector(off(slot));
        }

        T vectorTable(int slot, int i) {
            return new T().at(__indirect(__vector(off(slot)) + 4 * i), bb);
        }
    }
}
