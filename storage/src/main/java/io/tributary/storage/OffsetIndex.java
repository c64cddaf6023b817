package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The sparse offset index of one segment: maps a batch's base offset to its byte position in the segment's
 * {@code .log}, one entry per {@code index.interval.bytes} appended. Kept in memory, written to
 * {@code <base>.index} when the segment is flushed (the log's roll flush, a flush) or closed.
 *
 * <p>File layout: {@code entries * 8} bytes, each entry big-endian
 * {@code relativeOffset int32 (baseOffset of a batch - segment base offset) | position int32}; both strictly
 * increasing. A file whose size is not a multiple of 8 or whose entries are not increasing is rebuilt from the log.
 *
 * <p>Threads: one writer at a time (the log's append lock); {@link #lookup} may run concurrently with
 * {@link #append} (entries are published through volatile fields). {@link #truncateTo} and {@link #clear} need the
 * log's exclusive lock (no concurrent readers).
 */
final class OffsetIndex {
    static final int ENTRY_SIZE = 8;
    private static final int INITIAL_CAPACITY = 64;

    private final Path file;
    private final int maxEntries;
    /** (relativeOffset << 32) | position. Replaced, never shrunk in place, when grown. */
    private volatile long[] entries;
    private volatile int count;

    OffsetIndex(Path file, int maxIndexBytes) {
        this.file = file;
        this.maxEntries = Math.max(0, maxIndexBytes / ENTRY_SIZE);
        this.entries = new long[Math.min(INITIAL_CAPACITY, Math.max(1, maxEntries))];
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

    /** Heap held by the entries (the array's capacity, which may exceed the entries by up to twice). */
    long heapBytes() {
        return 8L * entries.length;
    }

    void append(int relativeOffset, int position) {
        int n = count;
        if (n >= maxEntries) {
            throw new IllegalStateException("Offset index " + file + " is full (" + maxEntries + " entries)");
        }
        long[] arr = entries;
        if (n > 0 && (relOffset(arr[n - 1]) >= relativeOffset || position(arr[n - 1]) >= position)) {
            throw new IllegalStateException("Offset index entries must increase: (" + relOffset(arr[n - 1]) + ", "
                    + position(arr[n - 1]) + ") then (" + relativeOffset + ", " + position + ")");
        }
        if (n == arr.length) {
            arr = Arrays.copyOf(arr, (int) Math.min((long) maxEntries, 2L * arr.length));
        }
        arr[n] = ((long) relativeOffset << 32) | (position & 0xFFFFFFFFL);
        entries = arr;
        count = n + 1; // publishes the entry
    }

    /** Position of the last entry whose relative offset is <= {@code relativeOffset}; 0 if there is none. */
    int lookup(long relativeOffset) {
        int n = count;
        long[] arr = entries;
        int i = floor(arr, n, relativeOffset);
        return i < 0 ? 0 : position(arr[i]);
    }

    /**
     * The entry before the last one whose position is at most {@code maxPosition} and whose relative offset is at
     * most {@code maxRelativeOffset}, as {@code (relativeOffset << 32) | position}: the batch it indexes ends at or
     * before that last one's position. -1 if fewer than two entries qualify.
     */
    long secondLastAtOrBelow(long maxPosition, long maxRelativeOffset) {
        int n = count;
        long[] arr = entries;
        int i = Math.min(floor(arr, n, maxRelativeOffset), floorByPosition(arr, n, maxPosition));
        return i < 1 ? -1 : arr[i - 1];
    }

    /** Position of the last entry, 0 if empty. */
    int lastPosition() {
        int n = count;
        return n == 0 ? 0 : position(entries[n - 1]);
    }

    /** Removes entries whose relative offset is >= {@code relativeOffset}. */
    void truncateTo(long relativeOffset) {
        int n = count;
        int i = floor(entries, n, relativeOffset - 1);
        count = i + 1;
    }

    void clear() {
        count = 0;
    }

    void write() throws IOException {
        int n = count;
        long[] arr = entries;
        ByteBuffer buf = ByteBuffer.allocate(n * ENTRY_SIZE);
        for (int i = 0; i < n; i++) {
            buf.putInt(relOffset(arr[i])).putInt(position(arr[i]));
        }
        buf.flip();
        DiskIo.writeAtomically(file, buf);
    }

    /**
     * Loads the entries from the file.
     *
     * @return false, leaving the index empty, if the file is missing or not a valid index for a log of
     *     {@code logSizeBytes}
     */
    boolean load(long logSizeBytes) throws IOException {
        clear();
        if (!Files.isRegularFile(file)) {
            return false;
        }
        long size = Files.size(file);
        if (size % ENTRY_SIZE != 0 || size / ENTRY_SIZE > maxEntries) {
            return false;
        }
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file));
        int lastRel = -1;
        int lastPos = -1;
        while (buf.hasRemaining()) {
            int rel = buf.getInt();
            int pos = buf.getInt();
            if (rel <= lastRel || pos <= lastPos || pos >= logSizeBytes) {
                clear();
                return false;
            }
            append(rel, pos);
            lastRel = rel;
            lastPos = pos;
        }
        return true;
    }

    void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    /** Index of the last entry with relative offset <= target, or -1. O(log n). */
    private static int floor(long[] arr, int n, long target) {
        return floorBy(arr, n, target, false);
    }

    /** Index of the last entry with position <= target, or -1. O(log n): positions increase with the entries. */
    private static int floorByPosition(long[] arr, int n, long target) {
        return floorBy(arr, n, target, true);
    }

    private static int floorBy(long[] arr, int n, long target, boolean byPosition) {
        int lo = 0;
        int hi = n - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if ((byPosition ? position(arr[mid]) : relOffset(arr[mid])) <= target) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return found;
    }

    /** The relative offset of an entry as {@link #secondLastAtOrBelow} returns it. */
    static int relOffset(long entry) {
        return (int) (entry >>> 32);
    }

    /** The position of an entry as {@link #secondLastAtOrBelow} returns it. */
    static int position(long entry) {
        return (int) entry;
    }
}
