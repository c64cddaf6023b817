package io.tributary.storage;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Small file helpers shared by the log classes: positional read/write loops and atomic file replacement. */
final class DiskIo {
    static final String TMP_SUFFIX = ".tmp";

    private DiskIo() {
    }

    /** Reads exactly {@code dst.remaining()} bytes at {@code position}; EOFException if the file is shorter. */
    static void readFully(FileChannel channel, ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, pos);
            if (n < 0) {
                throw new EOFException("End of file at " + pos + " with " + dst.remaining() + " bytes still to read");
            }
            pos += n;
        }
    }

    /** Writes all of {@code src} at {@code position}. */
    static void writeFully(FileChannel channel, ByteBuffer src, long position) throws IOException {
        long pos = position;
        while (src.hasRemaining()) {
            pos += channel.write(src, pos);
        }
    }

    /**
     * Replaces {@code target} with {@code content} so that a crash leaves either the old or the new file:
     * write a temporary sibling, fsync it, rename over the target.
     */
    static void writeAtomically(Path target, ByteBuffer content) throws IOException {
        replace(target, content, true);
    }

    /**
     * Replaces {@code target} with {@code content} without forcing anything to disk: readers see the old or the new
     * file, but after a crash it may be either, or empty. Only for files rebuilt from the log when unreadable.
     */
    static void replaceUnforced(Path target, ByteBuffer content) throws IOException {
        replace(target, content, false);
    }

    private static void replace(Path target, ByteBuffer content, boolean force) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + TMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, content, 0);
            if (force) {
                ch.force(true);
            }
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * fsyncs a directory so that created, renamed and deleted entries survive a crash. A failure is thrown (as Kafka's
     * {@code Utils.flushDir}): the entries may be lost, like a file's pages after a failed fsync. Only a platform that
     * cannot force a directory at all is skipped.
     */
    static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (UnsupportedOperationException e) {
            // This platform cannot force a directory; file data is still forced.
        }
    }

    /** Deletes {@code dir} and everything under it, if it exists. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
            for (Path path : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
