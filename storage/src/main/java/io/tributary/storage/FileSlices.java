package io.tributary.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The segment-file slices handed out for zero-copy reads ({@link PartitionLog#readSlice}). A slice reads through a
 * read-only handle of the segment file of its own, not the log's: retention, compaction or a close of the segment
 * (which delete, replace or close the log's handle) never cut a send short, as the kernel keeps an open file's data
 * until its last descriptor closes. Slices of the active segment share one such handle, kept while the segment is
 * active (consumers tailing the log do not open the file for each fetch); a slice of an older segment opens one of
 * its own. Each slice is {@linkplain FileSlice#release released} once sent or dropped. At most {@code maxOpen}
 * slices are out at once; past that, reads copy instead ({@link #open} answers null).
 */
public final class FileSlices {
    private final int maxOpen;
    private final AtomicInteger out = new AtomicInteger();
    private final LongAdder opened = new LongAdder();
    private final LongAdder filesOpened = new LongAdder();

    public FileSlices(int maxOpen) {
        if (maxOpen < 0) {
            throw new IllegalArgumentException("maxOpen must be >= 0, got " + maxOpen);
        }
        this.maxOpen = maxOpen;
    }

    /**
     * {@code size} bytes of {@code segment}'s file from {@code position}; null when {@code maxOpen} slices are out.
     * {@code active}: the segment is the log's active one (its handle may be shared).
     */
    FileSlice open(LogSegment segment, boolean active, int position, int size) throws IOException {
        if (out.incrementAndGet() > maxOpen) {
            out.decrementAndGet();
            return null;
        }
        ReadHandle handle;
        try {
            handle = segment.retainReadHandle(this, active);
        } catch (IOException | RuntimeException e) {
            out.decrementAndGet();
            throw e;
        }
        opened.increment();
        return new FileSlice(handle, position, size, this);
    }

    /** A new read-only handle of {@code file}. */
    FileChannel openFile(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        filesOpened.increment();
        return channel;
    }

    void released() {
        out.decrementAndGet();
    }

    /** Slices out now (handed out, not yet released). */
    public int openCount() {
        return out.get();
    }

    /** Slices handed out since start. */
    public long opened() {
        return opened.sum();
    }

    /** Read-only segment-file handles opened for slices since start (shared ones count once). */
    public long filesOpened() {
        return filesOpened.sum();
    }

    public int maxOpen() {
        return maxOpen;
    }
}
