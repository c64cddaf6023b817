package io.tributary.storage;

import io.tributary.storage.internal.KafkaRecords;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * One segment of a partition log: the file {@code <20-digit base offset>.log} holding RecordBatch v2 bytes exactly
 * as stored (see {@link RecordBatchHeader} for the batch layout), back to back with nothing in between, every
 * batch's base offset at or above the segment's base offset and above the previous batch's last offset; plus its
 * {@link OffsetIndex} ({@code .index}) and {@link TimeIndex} ({@code .timeindex}).
 *
 * <p>Threads: {@link PartitionLog} calls the mutating methods under its append lock (one writer). Readers may call
 * {@link #size}, {@link #nextOffset}, {@link #findBatchPosition}, {@link #read} and {@link #findByTimestamp}
 * concurrently with {@link #append}: the size and next offset are volatile and published after the bytes are
 * written, so readers only see whole batches. {@link #truncateTo} and {@link #close} run under the log's exclusive
 * lock, with no readers.
 *
 * <p>Lifecycle: created empty or opened from disk ({@link #loadTrusted} or {@link #recover}), appended to while
 * active, {@link #markInactive} when the next segment is rolled, then read-only until closed or deleted.
 */
final class LogSegment {
    static final String LOG_SUFFIX = ".log";
    static final String INDEX_SUFFIX = ".index";
    static final String TIME_INDEX_SUFFIX = ".timeindex";

    private final long baseOffset;
    private final Path logFile;
    private final FileChannel channel;
    private final OffsetIndex offsetIndex;
    private final TimeIndex timeIndex;
    /** Aborted transactions whose marker is in this segment; opened lazily (most segments have none). */
    private final Path txnIndexFile;
    private TransactionIndex txnIndex;
    /** Whether the segment may have aborted transactions (its file existed at open, or one was added since). */
    private volatile boolean mayHaveAbortedTxns;

    private volatile int size;
    private volatile long nextOffset;
    private volatile long maxTimestamp = -1;
    /** Clock time of the first append since this segment was created or loaded; -1 before it. Writer only. */
    private long firstAppendMs = -1;
    private int bytesSinceLastIndexEntry;
    private boolean indexesDirty;
    /** Guards {@link #readHandle} and {@link #sealed}. */
    private final Object readHandleLock = new Object();
    /** The read-only handle the slices of this segment share while it is the active one (see {@link FileSlices}). */
    private ReadHandle readHandle;
    /** Rolled, closed or deleted: slices get handles of their own ({@link #truncateTo} may make it active again). */
    private boolean sealed;

    private LogSegment(Path dir, long baseOffset, int segmentIndexBytes) throws IOException {
        this.baseOffset = baseOffset;
        this.logFile = dir.resolve(fileName(baseOffset, LOG_SUFFIX));
        this.channel = FileChannel.open(logFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        this.offsetIndex = new OffsetIndex(dir.resolve(fileName(baseOffset, INDEX_SUFFIX)), segmentIndexBytes);
        this.timeIndex = new TimeIndex(dir.resolve(fileName(baseOffset, TIME_INDEX_SUFFIX)), segmentIndexBytes);
        this.txnIndexFile = dir.resolve(fileName(baseOffset, TransactionIndex.SUFFIX));
        this.mayHaveAbortedTxns = Files.exists(txnIndexFile);
        this.nextOffset = baseOffset;
    }

    static String fileName(long baseOffset, String suffix) {
        return String.format(Locale.ROOT, "%020d", baseOffset) + suffix;
    }

    /** A new, empty segment; any stale files with the same name are emptied. */
    static LogSegment create(Path dir, long baseOffset, int segmentIndexBytes) throws IOException {
        LogSegment segment = new LogSegment(dir, baseOffset, segmentIndexBytes);
        segment.channel.truncate(0);
        segment.offsetIndex.deleteFile();
        segment.timeIndex.deleteFile();
        Files.deleteIfExists(segment.txnIndexFile);
        segment.mayHaveAbortedTxns = false;
        segment.indexesDirty = true;
        return segment;
    }

    /** An existing segment file, not yet loaded: call {@link #loadTrusted} or {@link #recover} next. */
    static LogSegment open(Path dir, long baseOffset, int segmentIndexBytes) throws IOException {
        return new LogSegment(dir, baseOffset, segmentIndexBytes);
    }

    long baseOffset() {
        return baseOffset;
    }

    /** The segment's log file. */
    Path file() {
        return logFile;
    }

    int size() {
        return size;
    }

    /** Heap held by this segment's offset and time indexes (kept in memory, see {@link OffsetIndex}). */
    long indexHeapBytes() {
        return offsetIndex.heapBytes() + timeIndex.heapBytes();
    }

    /** The entries of the fuller of its two indexes. */
    int indexEntries() {
        return Math.max(offsetIndex.entryCount(), timeIndex.entryCount());
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Offset after the last batch, or the base offset when empty. */
    long nextOffset() {
        return nextOffset;
    }

    /** Largest batch max timestamp in the segment, -1 when empty. */
    long maxTimestamp() {
        return maxTimestamp;
    }

    // ---------------------------------------------------------------- loading

    /**
     * Loads a segment written before a clean shutdown or below the recovery point: indexes from their files, then
     * only the batches after the last index entry are read (and CRC-checked) to find the end.
     *
     * @return false if the files are not consistent; the caller must then {@link #recover} the segment
     */
    boolean loadTrusted() throws IOException {
        long fileSize = channel.size();
        if (fileSize > Integer.MAX_VALUE || !offsetIndex.load(fileSize)) {
            return false;
        }
        int from = offsetIndex.lastPosition();
        long[] tailMax = {-1};
        BatchScanner.Result result = new BatchScanner(channel).walk(from, (int) fileSize, baseOffset, true,
                (header, position) -> tailMax[0] = Math.max(tailMax[0], header.maxTimestamp()));
        if (result.problem() != null || (from > 0 && result.nextOffset() == baseOffset)) {
            offsetIndex.clear();
            return false;
        }
        long lastRelativeOffset = result.nextOffset() - 1 - baseOffset;
        if (!timeIndex.load(lastRelativeOffset)) {
            offsetIndex.clear();
            return false;
        }
        size = (int) fileSize;
        nextOffset = result.nextOffset();
        maxTimestamp = Math.max(tailMax[0], timeIndex.lastTimestamp());
        bytesSinceLastIndexEntry = size - from;
        indexesDirty = false;
        return true;
    }

    /**
     * Recovers a segment that may have a torn or corrupt tail: walks every batch checking lengths, magic, CRC and
     * offsets, truncates the file at the first bad one, and rebuilds both indexes in memory (marked dirty).
     *
     * @return the number of bytes truncated (0 if the whole file was valid)
     */
    long recover(int indexIntervalBytes) throws IOException {
        offsetIndex.clear();
        timeIndex.clear();
        size = 0;
        nextOffset = baseOffset;
        maxTimestamp = -1;
        bytesSinceLastIndexEntry = 0;
        long fileSize = channel.size();
        int end = (int) Math.min(fileSize, Integer.MAX_VALUE);
        BatchScanner.Result result = new BatchScanner(channel).walk(0, end, baseOffset, true,
                (header, position) -> indexBatch(header, position, indexIntervalBytes));
        long truncated = fileSize - result.validEndPosition();
        if (truncated > 0) {
            channel.truncate(result.validEndPosition());
        }
        size = result.validEndPosition();
        nextOffset = result.nextOffset();
        indexesDirty = true;
        return truncated;
    }

    /** What the batch of {@code header} at {@code position} is to transactions ({@link TxnMarkers#read}). */
    TxnMarkers.Marker marker(RecordBatchHeader header, int position) throws IOException {
        if (!header.isControl() || !header.hasProducerId()) {
            return TxnMarkers.NOT_A_MARKER;
        }
        ByteBuffer batch = ByteBuffer.allocate(header.sizeInBytes());
        DiskIo.readFully(channel, batch, position);
        return TxnMarkers.read(header, batch.flip(), 0);
    }

    /** Visits every batch header (no CRC check; the segment was loaded already). */
    void forEachBatch(BatchScanner.Visitor visitor) throws IOException {
        forEachBatchFrom(0, visitor);
    }

    /** Visits the batch headers from {@code position}, a batch boundary, to the end (no CRC check). */
    void forEachBatchFrom(int position, BatchScanner.Visitor visitor) throws IOException {
        new BatchScanner(channel).walk(position, size, baseOffset, false, visitor);
    }

    // ---------------------------------------------------------------- appending (writer only)

    /**
     * Starts the {@code segment.ms} clock of a segment loaded from disk with data in it. Kafka uses the first
     * batch's timestamp; we use the load time, so a restart postpones a time-based roll by at most one period.
     */
    void startRollClock(long nowMs) {
        if (size > 0 && firstAppendMs < 0) {
            firstAppendMs = nowMs;
        }
    }

    /** Whether an append of {@code appendBytes} ending at {@code lastOffset} must go to a new segment. */
    boolean shouldRoll(LogConfig config, long rollMs, int appendBytes, long lastOffset, long nowMs) {
        if (size == 0) {
            return false; // an empty segment always takes the append
        }
        return size + (long) appendBytes > config.segmentBytes()
                || (firstAppendMs >= 0 && nowMs - firstAppendMs > rollMs)
                || offsetIndex.isFull()
                || timeIndex.isFull()
                || lastOffset - baseOffset > Integer.MAX_VALUE;
    }

    /**
     * Writes {@code batches} (position to limit, already validated and stamped) at the end of the file and indexes
     * them. {@code headers} are the stamped headers of those batches, in order. The buffer's position is not moved.
     */
    void append(ByteBuffer batches, List<RecordBatchHeader> headers, int indexIntervalBytes, long nowMs)
            throws IOException {
        int start = size;
        DiskIo.writeFully(channel, batches.duplicate(), start);
        int pos = start;
        for (RecordBatchHeader header : headers) {
            indexBatch(header, pos, indexIntervalBytes);
            pos += header.sizeInBytes();
        }
        if (firstAppendMs < 0) {
            firstAppendMs = nowMs;
        }
        indexesDirty = true;
        nextOffset = headers.get(headers.size() - 1).nextOffset();
        size = pos; // publish last: readers bound themselves by size
    }

    /** Index maintenance for one batch at {@code position}: Kafka's rule of one entry per interval of bytes. */
    private void indexBatch(RecordBatchHeader header, int position, int indexIntervalBytes) {
        if (header.maxTimestamp() > maxTimestamp) {
            maxTimestamp = header.maxTimestamp();
        }
        // Both indexes get their entry at the same batch, so that after a reload the largest timestamp is the last
        // time index entry combined with the batches after the last offset index entry.
        if (bytesSinceLastIndexEntry > indexIntervalBytes && !offsetIndex.isFull() && !timeIndex.isFull()) {
            offsetIndex.append((int) (header.baseOffset() - baseOffset), position);
            timeIndex.maybeAppend(maxTimestamp, (int) (header.lastOffset() - baseOffset));
            bytesSinceLastIndexEntry = 0;
        }
        bytesSinceLastIndexEntry += header.sizeInBytes();
    }

    /** The aborted-transaction index, opened from its file on first use. */
    synchronized TransactionIndex txnIndex() throws IOException {
        if (txnIndex == null) {
            txnIndex = TransactionIndex.open(txnIndexFile, baseOffset);
            mayHaveAbortedTxns = true;
        }
        return txnIndex;
    }

    Path txnIndexFileDir() {
        return txnIndexFile.getParent();
    }

    /** Records an aborted transaction whose marker this segment holds. Append lock. */
    void appendAbortedTxn(AbortedTxn txn) throws IOException {
        txnIndex().append(txn);
        mayHaveAbortedTxns = true;
    }

    /** The aborted transactions of this segment that overlap [{@code fromOffset}, {@code toOffset}). */
    List<AbortedTxn> abortedTxns(long fromOffset, long toOffset) throws IOException {
        if (!mayHaveAbortedTxns) {
            return List.of(); // no file lookup per segment per read_committed fetch
        }
        return txnIndex().collect(fromOffset, toOffset);
    }

    /**
     * Called when a newer segment becomes active: the final time index entry, and no more shared read handle. No
     * fsync: the caller makes the segment durable ({@link #flush}) when it needs to; the log's roll leaves that to
     * its roll flush, off the append lock.
     */
    void markInactive() {
        dropReadHandle();
        if (size > 0) {
            timeIndex.maybeAppend(maxTimestamp, (int) (nextOffset - 1 - baseOffset));
            indexesDirty = true;
        }
    }

    /** fsyncs the log file and writes the indexes if they changed. */
    void flush() throws IOException {
        forceLog();
        flushIndexes();
    }

    /**
     * fsyncs the log file: every byte written before the call is on disk when it returns. Needs no lock (appends may
     * go on meanwhile); throws {@link java.nio.channels.ClosedChannelException} if the segment is closed or deleted
     * before or during the call.
     */
    void forceLog() throws IOException {
        channel.force(true);
    }

    /** fsyncs the transaction index and writes the offset and time indexes if they changed. Append lock held. */
    void flushIndexes() throws IOException {
        TransactionIndex txns = txnIndex;
        if (txns != null) {
            txns.flush();
        }
        if (indexesDirty) {
            offsetIndex.write();
            timeIndex.write();
            indexesDirty = false;
        }
    }

    /**
     * Removes the batches at and above {@code offset}, which must be a batch's base offset (or at/after the end).
     * Exclusive lock required.
     *
     * @return bytes removed
     * @throws IllegalArgumentException if {@code offset} falls inside a batch
     */
    int truncateTo(long offset) throws IOException {
        int position = findBatchPosition(offset, size);
        if (position < 0) {
            return 0;
        }
        RecordBatchHeader header = readHeader(position);
        if (header.baseOffset() != offset && offset > baseOffset) {
            throw new IllegalArgumentException("Cannot truncate to offset " + offset + ": it is inside the batch "
                    + header.baseOffset() + ".." + header.lastOffset());
        }
        int removed = size - position;
        synchronized (readHandleLock) {
            sealed = false; // the later segments are being removed: this one may be the active one again
        }
        channel.truncate(position);
        long relative = offset - baseOffset;
        offsetIndex.truncateTo(relative);
        timeIndex.truncateTo(relative);
        if (mayHaveAbortedTxns) {
            txnIndex().truncateTo(offset);
        }
        int from = offsetIndex.lastPosition();
        long[] tailMax = {-1};
        BatchScanner.Result result = new BatchScanner(channel).walk(from, position, baseOffset, false,
                (h, p) -> tailMax[0] = Math.max(tailMax[0], h.maxTimestamp()));
        size = position;
        nextOffset = position == 0 ? baseOffset : result.nextOffset();
        maxTimestamp = position == 0 ? -1 : Math.max(tailMax[0], timeIndex.lastTimestamp());
        bytesSinceLastIndexEntry = position - from;
        if (position == 0) {
            firstAppendMs = -1;
        }
        indexesDirty = true;
        return removed;
    }

    // ---------------------------------------------------------------- reading (any thread)

    /** Reads the 61-byte header of the batch at {@code position}. */
    RecordBatchHeader readHeader(int position) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(RecordBatchHeader.HEADER_SIZE);
        DiskIo.readFully(channel, buf, position);
        return RecordBatchHeader.parse(buf, 0);
    }

    /**
     * Position of the batch containing {@code offset} (its last offset is >= {@code offset}), looking only at bytes
     * below {@code sizeLimit}; -1 if every batch there ends before {@code offset}. O(log n) index lookup plus a
     * scan of at most about {@code index.interval.bytes}.
     */
    int findBatchPosition(long offset, int sizeLimit) throws IOException {
        int pos = offset <= baseOffset ? 0 : offsetIndex.lookup(offset - baseOffset);
        while (pos < sizeLimit) {
            RecordBatchHeader header = readHeader(pos);
            if (header.lastOffset() >= offset) {
                return pos;
            }
            pos += header.sizeInBytes();
        }
        return -1;
    }

    /**
     * A batch boundary past {@code from} found in the offset index rather than by reading the headers on the way, as
     * the batch starting there: that batch ends at or before {@code maxEnd} and
     * holds no offset at or above {@code limitOffset}, as do all before it. Null if the index has none past
     * {@code from}. Entries are indexed batch starts (one per {@code index.interval.bytes}), so a scan from the
     * boundary reads a few headers where a scan from {@code from} reads every one.
     */
    BatchStart indexedBoundary(int from, long maxEnd, long limitOffset) {
        long entry = offsetIndex.secondLastAtOrBelow(maxEnd, limitOffset - baseOffset);
        if (entry < 0 || OffsetIndex.position(entry) <= from) {
            return null;
        }
        return new BatchStart(baseOffset + OffsetIndex.relOffset(entry), OffsetIndex.position(entry));
    }

    /** Where a batch starts in this segment: its base offset and its byte position. */
    record BatchStart(long baseOffset, int position) {
    }

    /** Reads {@code dst.remaining()} bytes at {@code position} into {@code dst}. */
    void read(ByteBuffer dst, int position) throws IOException {
        DiskIo.readFully(channel, dst, position);
    }

    /**
     * The first record with timestamp >= {@code timestamp} at an offset below {@code maxOffsetExclusive}, looking
     * inside batches (decompressing) only where a batch's max timestamp says it may hold one.
     */
    Optional<TimestampOffset> findByTimestamp(long timestamp, long startingOffset, long maxOffsetExclusive)
            throws IOException {
        int limit = size;
        if (maxTimestamp < timestamp || limit == 0) {
            return Optional.empty();
        }
        long relative = timeIndex.lookupBefore(timestamp);
        int pos = relative < 0 ? 0 : offsetIndex.lookup(relative);
        while (pos < limit) {
            RecordBatchHeader header = readHeader(pos);
            if (header.lastOffset() >= maxOffsetExclusive) {
                return Optional.empty();
            }
            if (header.maxTimestamp() >= timestamp && header.lastOffset() >= startingOffset) {
                ByteBuffer batch = ByteBuffer.allocate(header.sizeInBytes());
                read(batch, pos);
                batch.flip();
                Optional<TimestampOffset> found = KafkaRecords.firstRecordAtOrAfter(batch, timestamp,
                        startingOffset);
                if (found.isPresent()) {
                    return found;
                }
            }
            pos += header.sizeInBytes();
        }
        return Optional.empty();
    }

    /**
     * A hold on a read-only handle of this segment's file for a {@link FileSlice}: the shared one while the segment is
     * {@code active} (opened on first use, kept until the segment is rolled, closed or deleted), otherwise a new one
     * that only the slice holds.
     */
    ReadHandle retainReadHandle(FileSlices slices, boolean active) throws IOException {
        synchronized (readHandleLock) {
            ReadHandle shared = readHandle;
            if (shared != null && shared.retain()) {
                return shared;
            }
            boolean share = active && !sealed;
            ReadHandle handle = new ReadHandle(slices.openFile(logFile), share ? 2 : 1);
            if (share) {
                readHandle = handle;
            }
            return handle;
        }
    }

    /** The segment lets go of its shared read handle; slices still out keep it open until they are released. */
    private void dropReadHandle() {
        synchronized (readHandleLock) {
            sealed = true;
            if (readHandle != null) {
                readHandle.release();
                readHandle = null;
            }
        }
    }

    // ---------------------------------------------------------------- lifecycle

    /** Closes the file; trims anything past the published size (a failed write's leftovers). */
    void close() throws IOException {
        dropReadHandle();
        if (channel.isOpen()) {
            if (channel.size() > size) {
                channel.truncate(size);
            }
            channel.close();
        }
        TransactionIndex txns = txnIndex;
        if (txns != null) {
            txns.close();
        }
    }

    /** Closes and removes the segment's files. */
    void closeAndDelete() throws IOException {
        dropReadHandle();
        if (channel.isOpen()) {
            channel.close();
        }
        Files.deleteIfExists(logFile);
        offsetIndex.deleteFile();
        timeIndex.deleteFile();
        if (txnIndex != null) {
            txnIndex.deleteFile();
        }
        Files.deleteIfExists(txnIndexFile);
    }

    @Override
    public String toString() {
        return "LogSegment(base=" + baseOffset + ", size=" + size + ", next=" + nextOffset + ")";
    }
}
