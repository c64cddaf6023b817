package io.tributary.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The segment-file slices handed out for zero-copy reads ({@link PartitionLog#readSlice}): each opens the segment's
 * file read-only a second time, so that retention, compaction or a close of the segment (which delete, replace or
 * close the log's own file handle) never cut a send short (the kernel keeps an open file's data until its last
 * descriptor closes). Whoever sends a slice closes it with {@link #close}, once sent or dropped. At most
 * {@code maxOpen} are open at once; past that, reads copy instead ({@link #open} answers null).
 */
public final class FileSlices {
    private final int maxOpen;
    private final Set<FileChannel> open = ConcurrentHashMap.newKeySet();
    private final LongAdder opened = new LongAdder();

    public FileSlices(int maxOpen) {
        if (maxOpen < 0) {
            throw new IllegalArgumentException("maxOpen must be >= 0, got " + maxOpen);
        }
        this.maxOpen = maxOpen;
    }

    /** {@code size} bytes of {@code file} from {@code position}, on a new read-only handle; null when full. */
    FileSlice open(Path file, int position, int size) throws IOException {
        if (open.size() >= maxOpen) {
            return null;
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        open.add(channel);
        opened.increment();
        return new FileSlice(channel, position, size);
    }

    /** Closes a slice's handle (idempotent; a handle these slices did not open is left alone). */
    public void close(FileChannel channel) {
        if (open.remove(channel)) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // a read-only handle: nothing was written that a failed close could lose
            }
        }
    }

    /** Slices open now. */
    public int openCount() {
        return open.size();
    }

    /** Slices opened since start. */
    public long opened() {
        return opened.sum();
    }

    public int maxOpen() {
        return maxOpen;
    }
}
