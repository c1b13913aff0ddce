package dev.rectify.core.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A file written to a temporary sibling, fsynced, then atomically renamed over the target. Closing without
 * {@link #commit()} deletes the temporary file, so a failed write leaves the previous target untouched. The static
 * helpers are the project's only fsync and atomic-rename code: every durable write goes through this class.
 */
public final class AtomicFile implements AutoCloseable {
    private final Path target;
    private final Path temp;
    private final FileChannel channel;
    private final OutputStream out;
    private boolean synced;
    private boolean committed;

    private AtomicFile(Path target, Path temp, FileChannel channel) {
        this.target = target;
        this.temp = temp;
        this.channel = channel;
        this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 20);
    }

    /** Starts writing {@code target}: nothing is visible there until {@link #commit()}. */
    public static AtomicFile begin(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            return new AtomicFile(
                    abs, temp, FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING));
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
    }

    /** The buffered stream into the temporary file. */
    public OutputStream stream() {
        return out;
    }

    /** The temporary file's channel, for writes that bypass {@link #stream()} (flushed first). */
    public FileChannel channel() throws IOException {
        out.flush();
        return channel;
    }

    /** Flushes, fsyncs and closes the temporary file. */
    public void sync() throws IOException {
        if (!synced) {
            out.flush();
            channel.force(true);
            channel.close();
            synced = true;
        }
    }

    /** Renames the synced temporary file over the target and fsyncs the folder. */
    public void commit() throws IOException {
        sync();
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        committed = true;
        fsyncDir(target.getParent());
    }

    /** Writes {@code data} to {@code target} atomically (temporary sibling, fsync, rename). */
    public static void write(Path target, byte[] data) throws IOException {
        try (AtomicFile f = begin(target)) {
            f.stream().write(data);
            f.commit();
        }
    }

    /** Writes {@code data} to a new file (it must not exist) and fsyncs it. */
    public static void writeSynced(Path file, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    /** A temporary sibling of {@code target} to write into (its folder is created). */
    public static Path tempSibling(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        return Files.createTempFile(abs.getParent(), "." + abs.getFileName() + ".", ".tmp");
    }

    /** fsyncs a file. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    /** fsyncs a folder so a rename inside it is durable (ignored where the platform cannot open folders). */
    public static void fsyncDir(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not every platform can fsync a folder; the rename itself is still atomic.
        }
    }

    /** Renames {@code from} over {@code to} atomically (replacing a file) and fsyncs the folder. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
        fsyncDir(to.toAbsolutePath().getParent());
    }

    /**
     * Renames the fully written folder {@code staged} to {@code target} unless a concurrent writer got there first
     * (for content-addressed caches, where the winner's copy is as good), then fsyncs the parent folder.
     *
     * @return whether {@code staged} was moved; false when {@code target} existed ({@code staged} is left to delete)
     */
    public static boolean publishDirectory(Path staged, Path target) throws IOException {
        try {
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(staged, target);
        } catch (FileSystemException e) {
            // Linux reports a non-empty target folder as a plain FileSystemException (ENOTEMPTY), not as
            // DirectoryNotEmptyException: whatever the type, a target that exists now means another writer won
            if (Files.exists(target)) {
                return false;
            }
            throw e;
        }
        fsyncDir(target.toAbsolutePath().getParent());
        return true;
    }

    @Override
    public void close() {
        if (committed) {
            return;
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // best effort
        }
        try {
            Files.deleteIfExists(temp);
        } catch (IOException ignored) {
            // best effort
        }
    }

    /**
     * Publishes the fully written and fsynced folder {@code staged} as {@code target}: an existing target is first renamed
     * aside, {@code staged} is renamed into place, the parent folder is fsynced, then the old copy is deleted. A reader
     * sees the old folder or the new one, never a mix.
     */
    public static void replaceDirectory(Path staged, Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Path old = null;
        if (Files.exists(target)) {
            old = parent.resolve("." + target.getFileName() + ".old-" + System.nanoTime());
            Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(parent);
        if (old != null) {
            FileTrees.deleteQuietly(old);
        }
    }
}
