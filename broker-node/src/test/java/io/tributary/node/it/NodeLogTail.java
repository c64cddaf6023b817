package io.tributary.node.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * The lines a node writes to its log from a given moment on, read a little at a time: for a test that must react to
 * a line within milliseconds ({@link NodeProcess#logSince} reads the whole file on every call).
 *
 * <p>Not thread-safe: one test thread polls it.
 */
final class NodeLogTail {
    private static final int MAX_READ_BYTES = 1 << 20;

    private final Path file;
    /** Where the next unread line starts. */
    private long position;

    private NodeLogTail(Path file, long position) {
        this.file = file;
        this.position = position;
    }

    /** Starts at the current end of {@code node}'s log: only what it writes from now on is returned. */
    static NodeLogTail fromNow(NodeProcess node) {
        return new NodeLogTail(node.logFile(), node.logSize());
    }

    /** The complete lines written since the previous call (a line still being written waits for the next one). */
    List<String> newLines() {
        try (SeekableByteChannel channel = Files.newByteChannel(file)) {
            long size = channel.size();
            if (size <= position) {
                return List.of();
            }
            ByteBuffer buffer = ByteBuffer.allocate((int) Math.min(size - position, MAX_READ_BYTES));
            channel.position(position);
            while (buffer.hasRemaining() && channel.read(buffer) > 0) {
                // read what is there, up to the buffer's size
            }
            int end = buffer.position();
            while (end > 0 && buffer.get(end - 1) != '\n') {
                end--;
            }
            position += end;
            return new String(buffer.array(), 0, end, StandardCharsets.UTF_8).lines().toList();
        } catch (NoSuchFileException notYet) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }
}
