package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The sparse time index of one segment. An entry {@code (timestamp T, relative offset o)} promises that every
 * record of the segment at an offset {@code <= base + o} has a timestamp {@code <= T}; so a search for the first
 * record with timestamp {@code >= t} may start after the last entry with {@code T < t}. Entries are added with
 * offset index entries (every {@code index.interval.bytes}) when the segment's largest timestamp has grown, and
 * once more when the segment stops being active. Kept in memory; written to {@code <base>.timeindex} by the
 * log's roll flush, a flush and close.
 *
 * <p>File layout: {@code entries * 12} bytes, each entry big-endian
 * {@code timestamp int64 | relativeOffset int32}; timestamps and offsets strictly increasing.
 *
 * <p>Threads: as {@link OffsetIndex}.
 */
final class TimeIndex {
    static final int ENTRY_SIZE = 12;
    private static final int INITIAL_CAPACITY = 64;

    private final Path file;
    private final int maxEntries;
    private volatile long[] timestamps;
    private volatile int[] relOffsets;
    private volatile int count;

    TimeIndex(Path file, int maxIndexBytes) {
        this.file = file;
        this.maxEntries = Math.max(0, maxIndexBytes / ENTRY_SIZE);
        int capacity = Math.min(INITIAL_CAPACITY, Math.max(1, maxEntries));
        this.timestamps = new long[capacity];
        this.relOffsets = new int[capacity];
    }

    Path file() {
        return file;
    }

    boolean isFull() {
        return count >= maxEntries;
    }

    int entryCount() {
        return count;
    }

    /** Heap held by the entries (the arrays' capacity, which may exceed the entries by up to twice). */
    long heapBytes() {
        return 12L * relOffsets.length;
    }

    /** Largest timestamp indexed, or -1 when empty. */
    long lastTimestamp() {
        int n = count;
        return n == 0 ? -1 : timestamps[n - 1];
    }

    /** Adds an entry if {@code timestamp} is above the last one and there is room; returns whether it did. */
    boolean maybeAppend(long timestamp, int relativeOffset) {
        int n = count;
        if (n >= maxEntries) {
            return false;
        }
        if (n > 0 && (timestamps[n - 1] >= timestamp || relOffsets[n - 1] >= relativeOffset)) {
            return false;
        }
        long[] ts = timestamps;
        int[] rel = relOffsets;
        if (n == ts.length) {
            int capacity = (int) Math.min((long) maxEntries, 2L * ts.length);
            ts = Arrays.copyOf(ts, capacity);
            rel = Arrays.copyOf(rel, capacity);
        }
        ts[n] = timestamp;
        rel[n] = relativeOffset;
        timestamps = ts;
        relOffsets = rel;
        count = n + 1; // publishes the entry
        return true;
    }

    /**
     * Relative offset of the last entry whose timestamp is strictly below {@code timestamp}, or -1 if none: all
     * records up to and including that offset are older than {@code timestamp}. O(log n).
     */
    long lookupBefore(long timestamp) {
        int n = count;
        long[] ts = timestamps;
        int[] rel = relOffsets;
        int lo = 0;
        int hi = n - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (ts[mid] < timestamp) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found < 0 ? -1 : rel[found];
    }

    /** Removes entries whose relative offset is >= {@code relativeOffset}. */
    void truncateTo(long relativeOffset) {
        int n = count;
        int[] rel = relOffsets;
        while (n > 0 && rel[n - 1] >= relativeOffset) {
            n--;
        }
        count = n;
    }

    void clear() {
        count = 0;
    }

    void write() throws IOException {
        int n = count;
        long[] ts = timestamps;
        int[] rel = relOffsets;
        ByteBuffer buf = ByteBuffer.allocate(n * ENTRY_SIZE);
        for (int i = 0; i < n; i++) {
            buf.putLong(ts[i]).putInt(rel[i]);
        }
        buf.flip();
        DiskIo.writeAtomically(file, buf);
    }

    /**
     * Loads the entries from the file.
     *
     * @param maxRelativeOffset the segment's largest relative offset seen so far; entries past it are invalid
     * @return false, leaving the index empty, if the file is missing or invalid
     */
    boolean load(long maxRelativeOffset) throws IOException {
        clear();
        if (!Files.isRegularFile(file)) {
            return false;
        }
        long size = Files.size(file);
        if (size % ENTRY_SIZE != 0 || size / ENTRY_SIZE > maxEntries) {
            return false;
        }
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file));
        while (buf.hasRemaining()) {
            long ts = buf.getLong();
            int rel = buf.getInt();
            if (rel < 0 || rel > maxRelativeOffset || !maybeAppend(ts, rel)) {
                clear();
                return false;
            }
        }
        return true;
    }

    void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }
}
