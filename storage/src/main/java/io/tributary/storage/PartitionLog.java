package io.tributary.storage;

import io.tributary.storage.internal.KafkaRecords;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The log of one partition replica on disk: a directory of segments holding Kafka RecordBatch v2 bytes exactly as
 * the producer sent them, except for the base offset and partition leader epoch the leader stamps (both outside
 * the CRC). Fetches return the stored bytes without re-encoding.
 *
 * <p>Directory layout ({@code dir} is {@code <topic>-<partition>/}):
 * <pre>
 * 00000000000000000000.log        batches, see {@link LogSegment} and {@link RecordBatchHeader}
 * 00000000000000000000.index      sparse offset index, see {@link OffsetIndex}
 * 00000000000000000000.timeindex  sparse time index, see {@link TimeIndex}
 * recovery-point                  offset below which everything was fsynced, see {@link Checkpoint}
 * log-start-offset                first offset still readable (advanced by retention), see {@link Checkpoint}
 * leader-epoch-checkpoint         first offset of each leader epoch, see {@link LeaderEpochCache}
 * 00000000000000000000.snapshot   idempotent-producer state below that offset, see {@link ProducerSnapshots}
 * clean-shutdown                  empty marker written by {@link #close}, deleted by {@link #open}
 * </pre>
 *
 * <p>Threads: {@link #append}, {@link #appendAsFollower}, {@link #assignEpoch}, {@link #truncateTo},
 * {@link #deleteRetainedSegments}, {@link #flush} and {@link #close} serialise on one append lock (the active
 * segment has one writer; the {@link LeaderEpochCache} changes only under it). {@link #read},
 * {@link #offsetForTimestamp}, {@link #latestEpoch} and {@link #endOffsetForEpoch} run concurrently with appends and
 * with each other; they see only whole batches because the log end offset and segment sizes are published after the
 * bytes are written, and the epoch cache is an immutable snapshot replaced after its file.
 * Operations that remove bytes or close files (truncation, retention, close, delete) also take an exclusive lock
 * that waits for running reads. Lock order: append lock, then the exclusive lock. A thread interrupted during a
 * read or write closes the underlying {@code FileChannel} (JDK behaviour): do not interrupt log users.
 *
 * <p>Lifecycle: {@link #open} (recovering if the last stop was unclean), use, then {@link #close} (which marks a
 * clean shutdown) or {@link #delete}. An {@link IOException} from any method leaves the log in an unknown state:
 * the caller should stop using it (Kafka takes the log directory offline).
 */
public final class PartitionLog implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionLog.class);

    static final String RECOVERY_POINT_FILE = "recovery-point";
    static final String LOG_START_OFFSET_FILE = "log-start-offset";
    static final String CLEAN_SHUTDOWN_FILE = "clean-shutdown";
    /** Compaction's first dirty offset: everything below was compacted (Kafka's cleaner-offset-checkpoint). */
    static final String CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint";
    /** Where compaction writes a segment's cleaned copy before swapping it in; emptied at open. */
    static final String CLEANER_DIR = "cleaning";
    /** A cleaned {@code .log} on its way in: at open, it replaces the segment of its base offset. */
    static final String SWAP_SUFFIX = ".swap";

    /**
     * {@code <base>.log.<end>.swap}: a cleaned copy of the segments from {@code base} to {@code end} (exclusive),
     * ready to replace them ({@link LogLoader} completes it after a crash). Without {@code .<end>} (an older swap) it
     * replaces the one segment at {@code base}.
     */
    static String swapFileName(long base, long end) {
        return LogSegment.fileName(base, LogSegment.LOG_SUFFIX) + "." + end + SWAP_SUFFIX;
    }

    /**
     * {@code <base>.txnindex.<end>.swap}: the aborted-transaction index of the cleaned copy {@link #swapFileName}
     * names, always written (empty: no entry) and made durable before that swap, and moved into place (or deleted,
     * if empty) after the old segments are gone and before the swap is renamed: so after a crash, a log swap without
     * it has its index in place already. Without its log swap it is a clean that never committed.
     */
    static String txnIndexSwapFileName(long base, long end) {
        return LogSegment.fileName(base, TransactionIndex.SUFFIX) + "." + end + SWAP_SUFFIX;
    }

    /** Tests: told of each step of a compaction swap ({@link #swapIn}), under the log's locks. */
    interface SwapStepListener {
        void reached(String step) throws IOException;
    }
    /** Batches read and compacted at a time (plus one batch if larger). */
    private static final int CLEAN_CHUNK_BYTES = 1 << 20;
    /**
     * The most record bytes one appended batch may expand to while the leader recompresses it (or
     * {@code max.message.bytes}, if larger): bounds the memory a client's highly compressed batch can take.
     */
    static final long MAX_RECOMPRESSION_BYTES = 32L << 20;

    private final Path dir;
    private final Clock clock;
    private final ConcurrentSkipListMap<Long, LogSegment> segments;
    private final ProducerStateManager producerState = new ProducerStateManager();
    /** Append lock (or the opening thread). */
    private final ProducerSnapshots snapshots;
    /** Set once by {@link #initialise}; mutated under the append lock only, read by any thread. */
    private volatile LeaderEpochCache epochCache;
    private final ReentrantLock appendLock = new ReentrantLock();
    private final ReentrantReadWriteLock readersLock = new ReentrantReadWriteLock();

    private volatile LogConfig config;
    private volatile CompactionConfig compaction = CompactionConfig.DEFAULTS;
    private volatile MessageFormatConfig messageFormat = MessageFormatConfig.DEFAULTS;
    /** When the earliest tombstone the last clean kept may go (not persisted: after a restart, at the next clean). */
    private volatile long tombstonesDueMs = Long.MAX_VALUE;
    /** What the cleaner last saw (metrics only): the dirty share of the cleanable bytes, in percent. */
    private volatile int dirtyPercent;
    /** When a clean last rewrote segments of this log ({@code nowMs} of that clean), or -1 if none did yet. */
    private volatile long lastCleanMs = -1;
    private volatile long logStartOffset;
    private volatile long logEndOffset;
    /** Offsets below this were fsynced, with their indexes. Append lock. */
    private volatile long recoveryPoint;
    /** {@code log.flush.interval.messages} ({@link #maybeFlush}). */
    private volatile long flushIntervalMessages = Long.MAX_VALUE;
    private volatile boolean closed;
    /** Batch headers {@link #open} read for producer state and leader epochs (tests: only the tail is read). */
    private long headersReadAtOpen;
    /**
     * The snapshot that holds exactly the current producer state: its offset (-1: none) and the state's
     * {@link ProducerStateManager#changes} when it was written or loaded. Append lock.
     */
    private long currentSnapshotOffset = -1;
    /**
     * Counts truncations (append lock): a clean planned before one must not swap in or checkpoint what it copied, even
     * if the segments it read are still in place (truncated in place, then rolled), as Kafka aborts a clean on
     * truncation. Volatile: a flush reads it under the exclusive lock's read side only ({@link #writeIndexes}).
     */
    private volatile long truncations;
    /**
     * Serialises flushes ({@link #flush}, the roll flush, {@link #maybeFlush}): two must not write the same index
     * file at once. Lock order: this, then the append lock, then the exclusive lock.
     */
    private final ReentrantLock flushLock = new ReentrantLock();
    /** Where the roll flush runs ({@link #setFlushExecutor}). */
    private volatile Executor flushExecutor = Runnable::run;
    /** Told of an I/O error that leaves this log's files in an unknown state; see {@link #setDiskFailureHandler}. */
    private volatile Consumer<IOException> diskFailureHandler = e -> { };
    /** A write, truncation or fsync failed ({@link #diskFailure}): the files are in an unknown state. */
    private volatile boolean failed;
    /** A roll left the segments below the new one to flush (set under the append lock). */
    private volatile boolean rollFlushPending;
    /** A roll flush is on the executor and has not started yet: at most one per log is queued. */
    private final AtomicBoolean rollFlushQueued = new AtomicBoolean();
    /**
     * Changes to the directory so far (a roll's new files, an aborted transaction's index file), and those a
     * directory fsync covered (append lock): a flush fsyncs the directory while they differ, even if the recovery
     * point was already at the new segment's base when it rolled.
     */
    private long dirChanges;
    private long dirSyncedChanges;
    /**
     * Marker offset -> first offset of the transactions whose marker is written here but maybe not replicated: they
     * hold the stable offset back until the high watermark passes the marker. Bounded by the markers above the high
     * watermark (pruned by {@link #firstUnstableOffset(long)}, cut by truncation).
     */
    private final ConcurrentSkipListMap<Long, Long> unreplicatedTxns = new ConcurrentSkipListMap<>();
    private long currentSnapshotChanges;
    /** Tests only: sees every step of a compaction swap, to copy the directory as a crash there would leave it. */
    volatile SwapStepListener swapSteps = step -> { };

    private PartitionLog(Path dir, LogConfig config, Clock clock, Map<Long, LogSegment> loaded,
                         ProducerSnapshots snapshots) {
        this.dir = dir;
        this.config = config;
        this.clock = clock;
        this.segments = new ConcurrentSkipListMap<>(loaded);
        this.snapshots = snapshots;
    }

    /**
     * Opens the log in {@code dir}, creating the directory if needed. If the last stop was not a {@link #close},
     * segments from the recovery point on are checked batch by batch and a torn or corrupt tail is truncated
     * (logged at WARN). Producer state is the newest readable producer snapshot at or below the (recovered) log end
     * offset plus a replay of the batch headers after it, or a replay of every header if there is no snapshot. The
     * leader epoch cache is loaded from its checkpoint, cut to [log start offset, log end offset) (so an epoch
     * assigned but never written to is forgotten, as in Kafka), if it agrees with the snapshot's epochs continued by
     * the headers after it; if the checkpoint is missing, garbled or disagrees, the cache is rebuilt from every batch
     * header (see {@link LogLoader#restoreState}). If headers were replayed, a snapshot at the log end offset is
     * written, so that the next open reads none.
     */
    public static PartitionLog open(Path dir, LogConfig config, Clock clock) throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(clock, "clock");
        Files.createDirectories(dir);
        Path marker = dir.resolve(CLEAN_SHUTDOWN_FILE);
        boolean cleanShutdown = Files.exists(marker);
        long recoveryPoint = Checkpoint.read(dir.resolve(RECOVERY_POINT_FILE), 0);
        long startCheckpoint = Checkpoint.read(dir.resolve(LOG_START_OFFSET_FILE), -1);
        var loaded = LogLoader.load(dir, config, cleanShutdown, recoveryPoint, startCheckpoint);
        PartitionLog log = new PartitionLog(dir, config, clock, loaded, ProducerSnapshots.list(dir));
        log.initialise(startCheckpoint, recoveryPoint, cleanShutdown);
        Files.deleteIfExists(marker);
        DiskIo.fsyncDirectory(dir);
        LOG.info("Opened partition log dir={} cleanShutdown={} segments={} logStartOffset={} logEndOffset={} "
                + "batchHeadersRead={} producers={}", dir, cleanShutdown, loaded.size(), log.logStartOffset,
                log.logEndOffset, log.headersReadAtOpen, log.producerState.producerCount());
        return log;
    }

    private void initialise(long startCheckpoint, long recoveryCheckpoint, boolean cleanShutdown) throws IOException {
        LogSegment active = segments.lastEntry().getValue();
        logEndOffset = active.nextOffset();
        logStartOffset = Math.min(Math.max(startCheckpoint, segments.firstKey()), logEndOffset);
        active.startRollClock(clock.millis());
        // After an unclean stop, a snapshot above the recovery point may be on disk while the segments below it (their
        // transaction indexes) are not: the roll writes it unforced and only the roll flush forces both. So the
        // producer state starts from one at or below the recovery point and the headers after it are replayed.
        long maxSnapshotOffset = cleanShutdown ? Long.MAX_VALUE : recoveryCheckpoint;
        LogLoader.RestoredState restored = LogLoader.restoreState(dir, segments, snapshots, producerState,
                logStartOffset, logEndOffset, maxSnapshotOffset,
                Checkpoint.read(dir.resolve(CLEANER_CHECKPOINT_FILE), 0));
        epochCache = restored.epochCache();
        headersReadAtOpen = restored.headersRead();
        recoveryPoint = logEndOffset; // the loader flushed every segment it walked
        // As Kafka's loader: a snapshot at the log end (every batch is on disk now), unless nothing was replayed.
        currentSnapshotOffset = restored.snapshotOffset();
        currentSnapshotChanges = producerState.changes();
        try {
            if (logEndOffset > Math.max(restored.snapshotOffset(), logStartOffset)) {
                takeSnapshot(logEndOffset, true);
            }
            snapshots.retain(segments.navigableKeySet(), logStartOffset, recoveryPoint);
        } catch (IOException | RuntimeException e) {
            // ENOSPC, EACCES...: the log is whole without it; the next open replays the headers again.
            LOG.warn("Cannot write or trim the producer snapshots at open dir={} logEndOffset={}", dir, logEndOffset,
                    e);
        }
        // Only what changed is written (each write is an fsync): a new, empty log or a clean restart writes nothing,
        // as the files read (or their absence, read as the defaults) already say the same.
        if (recoveryPoint != recoveryCheckpoint) {
            Checkpoint.write(dir.resolve(RECOVERY_POINT_FILE), recoveryPoint);
        }
        if (logStartOffset != Math.max(startCheckpoint, 0)) {
            Checkpoint.write(dir.resolve(LOG_START_OFFSET_FILE), logStartOffset);
        }
    }

    // ---------------------------------------------------------------- appends

    /**
     * Leader append. Validates every batch in {@code given} (position to limit) before writing any: magic 2
     * (UNSUPPORTED_MAGIC), lengths and CRC (CORRUPT_MESSAGE), each batch within {@code max.message.bytes}
     * (MESSAGE_TOO_LARGE), the whole append within {@code segment.bytes} (RECORD_LIST_TOO_LARGE), record count
     * and offset delta not negative (INVALID_RECORD), idempotent producer epoch and sequence. Then assigns offsets
     * from the log end offset and writes.
     *
     * <p>Then Kafka's {@code LogValidator} rules of the {@link #messageFormat}: CreateTime bounds (INVALID_TIMESTAMP),
     * and with LogAppendTime or a {@code compression.type} of another codec the batches are rewritten into a new
     * buffer (timestamp type and max timestamp set, records recompressed, CRC recomputed) and checked again.
     *
     * <p>The base offset and partition leader epoch are stamped <em>in place</em> into {@code given} unless it was
     * rewritten (a read-only buffer is copied first); its position and limit are not changed.
     *
     * <p>If {@code leaderEpoch} is newer than the latest epoch of the {@link #leaderEpochCache}, the epoch is first
     * recorded as starting at the log end offset (KIP-101).
     *
     * @throws LogException for an invalid append; nothing was written
     * @throws IllegalArgumentException if {@code leaderEpoch} is negative or older than the latest epoch in the log:
     *     the caller must fence stale leaders before appending (KIP-320); nothing was written
     */
    public LogAppendResult append(ByteBuffer given, int leaderEpoch) throws IOException {
        try {
            return appendUnreported(given, leaderEpoch);
        } catch (IOException e) {
            throw diskFailure(e);
        }
    }

    private LogAppendResult appendUnreported(ByteBuffer given, int leaderEpoch) throws IOException {
        LogConfig cfg = config;
        List<RecordBatchHeader> received = BatchValidator.validateAppend(given, cfg.maxMessageBytes(),
                cfg.segmentBytes());
        ByteBuffer batches = given;
        for (RecordBatchHeader header : received) {
            if (header.isControl()) {
                // Only the leader writes markers, for the transaction coordinator (appendTransactionMarker)
                throw new LogException(LogError.INVALID_RECORD, "Control batches cannot be produced (offset "
                        + header.baseOffset() + " of " + dir.getFileName() + ")");
            }
        }
        if (compaction.compact()) {
            List<Integer> keyless = KafkaRecords.keylessRecordIndexes(batches);
            if (!keyless.isEmpty()) {
                // Kafka's LogValidator rule and message: compaction needs every record's key; the answer names the
                // records at fault, so a client fails only those (KIP-467).
                throw new LogException(LogError.INVALID_RECORD, "Compacted topic cannot accept message without key "
                        + "in topic partition " + dir.getFileName() + ".", keyless);
            }
        }
        MessageFormatConfig format = messageFormat;
        long logAppendTimeMs = format.logAppendTime() ? clock.millis() : -1;
        ByteBuffer rewritten = applyMessageFormat(batches, received, format,
                logAppendTimeMs >= 0 ? logAppendTimeMs : clock.millis(), cfg.maxMessageBytes());
        if (rewritten != batches) {
            // Sizes may have changed (Kafka re-checks max.message.bytes after recompression, too).
            batches = rewritten;
            received = BatchValidator.validateAppend(batches, cfg.maxMessageBytes(), cfg.segmentBytes());
        }
        appendLock.lock();
        try {
            ensureOpen();
            requireCurrentEpoch(leaderEpoch);
            ProducerStateManager.Staged staged = producerState.stage();
            List<RecordBatchHeader> stamped = new ArrayList<>(received.size());
            long nextOffset = logEndOffset;
            long maxTimestamp = -1;
            for (RecordBatchHeader header : received) {
                RecordBatchHeader assigned = header.withBaseOffsetAndEpoch(nextOffset, leaderEpoch);
                Optional<ProducerStateManager.BatchMetadata> duplicate = staged.check(assigned);
                if (duplicate.isPresent()) {
                    var original = duplicate.get();
                    return new LogAppendResult(original.firstOffset(), original.lastOffset(), -1, -1, true);
                }
                stamped.add(assigned);
                nextOffset = assigned.nextOffset();
                maxTimestamp = Math.max(maxTimestamp, assigned.maxTimestamp());
            }
            ByteBuffer target = batches.isReadOnly() ? copyOf(batches) : batches;
            int position = target.position();
            for (RecordBatchHeader header : stamped) {
                target.putLong(position + RecordBatchHeader.BASE_OFFSET_OFFSET, header.baseOffset());
                target.putInt(position + RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET, leaderEpoch);
                position += header.sizeInBytes();
            }
            maybeAssignEpoch(leaderEpoch, logEndOffset);
            write(target, stamped, cfg);
            staged.commit();
            return new LogAppendResult(stamped.get(0).baseOffset(), stamped.get(stamped.size() - 1).lastOffset(),
                    maxTimestamp, logAppendTimeMs, false);
        } finally {
            appendLock.unlock();
            afterAppend();
        }
    }

    /**
     * Follower append: batches already carry the leader's offsets and epochs and are stored unchanged. They are
     * checked for lengths, magic and CRC (not for size limits or producer sequences; the leader did that), and
     * producer state is replayed from them. Each batch whose partition leader epoch is newer than the latest epoch
     * of the {@link #leaderEpochCache} starts a new entry at its base offset (batches without an epoch, or with an
     * older one, add nothing), so the follower's cache ends up equal to the leader's.
     *
     * @throws LogException if a batch is invalid; nothing was written
     * @throws IllegalArgumentException if the first batch starts below the log end offset or offsets go backwards
     */
    public void appendAsFollower(ByteBuffer batches) throws IOException {
        try {
            appendAsFollowerUnreported(batches);
        } catch (IOException e) {
            throw diskFailure(e);
        }
    }

    private void appendAsFollowerUnreported(ByteBuffer batches) throws IOException {
        List<RecordBatchHeader> headers = BatchValidator.validateAppend(batches, Integer.MAX_VALUE,
                Integer.MAX_VALUE);
        appendLock.lock();
        try {
            ensureOpen();
            long expected = logEndOffset;
            for (RecordBatchHeader header : headers) {
                if (header.baseOffset() < expected) {
                    throw new IllegalArgumentException("Follower append of offset " + header.baseOffset()
                            + " is below the expected offset " + expected + " (truncate first)");
                }
                expected = header.nextOffset();
            }
            for (RecordBatchHeader header : headers) {
                maybeAssignEpoch(header.partitionLeaderEpoch(), header.baseOffset());
            }
            List<TxnMarkers.Marker> markers = new ArrayList<>(headers.size());
            int position = batches.position();
            for (RecordBatchHeader header : headers) {
                markers.add(TxnMarkers.read(header, batches, position));
                position += header.sizeInBytes();
            }
            write(batches, headers, config);
            for (int i = 0; i < headers.size(); i++) {
                RecordBatchHeader header = headers.get(i);
                Optional<ProducerStateManager.CompletedTxn> completed =
                        producerState.wouldComplete(header, markers.get(i));
                if (completed.isPresent()) {
                    // indexed before the transaction stops holding the stable offset back
                    recordCompleted(completed.get());
                }
                producerState.replay(header, markers.get(i));
            }
        } finally {
            appendLock.unlock();
            afterAppend();
        }
    }

    /**
     * Writes a transaction marker (KIP-98) for the producer as this partition's leader in {@code leaderEpoch}:
     * COMMIT or ABORT of its ongoing transaction here (a marker of a producer without one still ends nothing, as in
     * Kafka, and is written: the coordinator may retry). An ABORT is recorded in the aborted-transaction index of
     * the segment the marker lands in.
     *
     * @throws LogException INVALID_PRODUCER_EPOCH if {@code producerEpoch} is older than the producer's
     * @throws IllegalArgumentException if {@code leaderEpoch} is not the latest (see {@link #append})
     */
    public LogAppendResult appendTransactionMarker(long producerId, short producerEpoch, int coordinatorEpoch,
            boolean commit, int leaderEpoch) throws IOException {
        try {
            return appendTransactionMarkerUnreported(producerId, producerEpoch, coordinatorEpoch, commit, leaderEpoch);
        } catch (IOException e) {
            throw diskFailure(e);
        }
    }

    private LogAppendResult appendTransactionMarkerUnreported(long producerId, short producerEpoch,
            int coordinatorEpoch, boolean commit, int leaderEpoch) throws IOException {
        ByteBuffer marker = TxnMarkers.build(commit, producerId, producerEpoch, coordinatorEpoch, clock.millis());
        RecordBatchHeader header = RecordBatchHeader.parse(marker, marker.position());
        appendLock.lock();
        try {
            ensureOpen();
            requireCurrentEpoch(leaderEpoch);
            RecordBatchHeader stamped = header.withBaseOffsetAndEpoch(logEndOffset, leaderEpoch);
            ProducerStateManager.Staged staged = producerState.stage();
            staged.checkMarker(stamped, new TxnMarkers.Marker(commit ? TxnMarkers.COMMIT : TxnMarkers.ABORT,
                    coordinatorEpoch));
            marker.putLong(marker.position() + RecordBatchHeader.BASE_OFFSET_OFFSET, stamped.baseOffset());
            marker.putInt(marker.position() + RecordBatchHeader.PARTITION_LEADER_EPOCH_OFFSET, leaderEpoch);
            maybeAssignEpoch(leaderEpoch, logEndOffset);
            write(marker, List.of(stamped), config);
            // Indexed (and held unstable until replicated) before the transaction leaves the open ones: a
            // read_committed fetch never sees the stable offset past an abort that is not in the index yet
            for (ProducerStateManager.CompletedTxn txn : staged.completedTxns()) {
                recordCompleted(txn);
            }
            staged.commit();
            return new LogAppendResult(stamped.baseOffset(), stamped.lastOffset(), stamped.maxTimestamp(), -1, false);
        } finally {
            appendLock.unlock();
            afterAppend();
        }
    }

    /**
     * A transaction a marker just ended (before the producer state lets it go): an abort goes to the index of the
     * segment holding its marker (the active one), and until the high watermark passes the marker the transaction
     * still holds the stable offset back (Kafka's {@code unreplicatedTxns}). Append lock.
     */
    private void recordCompleted(ProducerStateManager.CompletedTxn txn) throws IOException {
        if (txn.aborted()) {
            long lastStable = producerState.firstUnstableOffsetWithout(txn.firstOffset()).orElse(txn.lastOffset() + 1);
            segments.lastEntry().getValue().appendAbortedTxn(new AbortedTxn(txn.producerId(), txn.firstOffset(),
                    txn.lastOffset(), Math.min(lastStable, txn.lastOffset() + 1)));
            dirChanges++; // the segment's transaction index file may be new
        }
        unreplicatedTxns.put(txn.lastOffset(), txn.firstOffset());
    }

    /**
     * The first offset of the oldest transaction still open in this log, if any (its producer's data so far, no
     * marker yet). See {@link #firstUnstableOffset(long)} for the stable offset.
     */
    public OptionalLong firstUnstableOffset() {
        return producerState.firstUnstableOffset();
    }

    /**
     * The replica's high watermark moved to {@code highWatermark}: the transactions whose marker is below it stop
     * holding the stable offset back (and are forgotten, which bounds them by the markers above it).
     */
    public void onHighWatermark(long highWatermark) {
        unreplicatedTxns.headMap(highWatermark).clear();
    }

    /**
     * The first offset a read_committed reader may not read yet, given the partition's high watermark: the first
     * offset of the oldest open transaction, or of a transaction whose marker the high watermark has not passed
     * (Kafka's {@code firstUnstableOffset} with its unreplicated transactions). The last stable offset is the
     * smaller of this and the high watermark.
     */
    public OptionalLong firstUnstableOffset(long highWatermark) {
        onHighWatermark(highWatermark);
        OptionalLong open = producerState.firstUnstableOffset();
        long first = open.isPresent() ? open.getAsLong() : Long.MAX_VALUE;
        for (long firstOffset : unreplicatedTxns.values()) {
            first = Math.min(first, firstOffset);
        }
        return first == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(first);
    }

    /**
     * The aborted transactions that overlap [{@code fromOffset}, {@code toOffset}), in marker order: what a
     * read_committed fetch of that range returns, so that the client skips their records (Kafka's
     * {@code collectAbortedTransactions}).
     */
    public List<AbortedTxn> abortedTransactions(long fromOffset, long toOffset) throws IOException {
        List<AbortedTxn> result = new ArrayList<>();
        readersLock.readLock().lock();
        try {
            ensureOpen();
            for (LogSegment segment : segments.values()) {
                // a segment's markers are at or above its base: those below fromOffset cannot overlap
                if (segment.nextOffset() > fromOffset || segment == segments.lastEntry().getValue()) {
                    result.addAll(segment.abortedTxns(fromOffset, toOffset));
                }
            }
        } finally {
            readersLock.readLock().unlock();
        }
        return result;
    }

    /** Records {@code epoch} as starting at {@code startOffset} if it is newer than the latest. Append lock held. */
    private void maybeAssignEpoch(int epoch, long startOffset) throws IOException {
        OptionalInt latest = epochCache.latestEpoch();
        if (epoch >= 0 && (latest.isEmpty() || epoch > latest.getAsInt())) {
            epochCache.assign(epoch, startOffset);
        }
    }

    private void requireCurrentEpoch(int leaderEpoch) {
        OptionalInt latest = epochCache.latestEpoch();
        if (leaderEpoch < 0 || (latest.isPresent() && leaderEpoch < latest.getAsInt())) {
            throw new IllegalArgumentException("Leader epoch " + leaderEpoch + " is negative or older than the latest "
                    + "leader epoch " + latest + " of " + dir.getFileName() + " (fence stale leaders first, KIP-320)");
        }
    }

    /** Rolls if needed, writes to the active segment and publishes the new log end offset. Append lock held. */
    private void write(ByteBuffer batches, List<RecordBatchHeader> headers, LogConfig cfg) throws IOException {
        long nowMs = clock.millis();
        LogSegment active = segments.lastEntry().getValue();
        long lastOffset = headers.get(headers.size() - 1).lastOffset();
        if (active.shouldRoll(cfg, rollMs(cfg, compaction), batches.remaining(), lastOffset, nowMs)
                || (!active.isEmpty() && headers.get(0).baseOffset() - active.baseOffset() > Integer.MAX_VALUE)) {
            active = roll(headers.get(0).baseOffset(), cfg);
        }
        active.append(batches, headers, cfg.indexIntervalBytes(), nowMs);
        logEndOffset = active.nextOffset(); // publish after the bytes and the segment size
    }

    /**
     * How old the active segment's first append may get before it rolls: {@code segment.ms}, or on a compacted log
     * {@code max.compaction.lag.ms} if that is shorter, since the active segment is never compacted (Kafka's
     * {@code LogConfig.maxSegmentMs}, KIP-354).
     */
    static long rollMs(LogConfig cfg, CompactionConfig compaction) {
        return compaction.compact() ? Math.min(cfg.segmentMs(), compaction.maxCompactionLagMs()) : cfg.segmentMs();
    }

    /**
     * Closes the active segment for writes and starts a new one at {@code baseOffset}. Append lock held. Nothing is
     * fsynced here (Kafka's roll neither): the previous segment, its indexes, the snapshot and the new files'
     * directory entries are made durable by the roll flush ({@link #afterAppend}), without the append lock; until it
     * is done the recovery point stays where it was, so an unclean start checks those segments batch by batch.
     */
    private LogSegment roll(long baseOffset, LogConfig cfg) throws IOException {
        LogSegment previous = segments.lastEntry().getValue();
        previous.markInactive();
        // Every batch below baseOffset is written, and the producer state holds exactly those (the batches of the
        // append that rolls are committed to it after they are written), so this is Kafka's snapshot at roll. Not
        // forced: one that a crash garbles is deleted at the next open, one a crash cut the log below is too.
        takeSnapshot(baseOffset, false);
        LogSegment next = LogSegment.create(dir, baseOffset, cfg.segmentIndexBytes());
        segments.put(baseOffset, next);
        snapshots.retain(segments.navigableKeySet(), logStartOffset, recoveryPoint);
        dirChanges++;
        rollFlushPending = true;
        LOG.debug("Rolled segment dir={} previousBase={} previousBytes={} newBase={}", dir, previous.baseOffset(),
                previous.size(), baseOffset);
        return next;
    }

    /**
     * Writes a producer snapshot at {@code offset}: the producer state and the leader epoch entries that start below
     * it, and the fingerprint of the batch just below it (one index lookup). The producer state must hold exactly
     * the batches below {@code offset}, written to the log; {@code force}: the snapshot is fsynced with its directory
     * entry (else a flush forces it later). Append lock held.
     */
    private void takeSnapshot(long offset, boolean force) throws IOException {
        List<EpochEntry> epochs = epochCache.entries().stream().filter(e -> e.startOffset() < offset).toList();
        RecordBatchHeader last = LogLoader.batchEndingBelow(segments, offset);
        var lastBatch = last == null ? null : ProducerSnapshots.BatchFingerprint.of(last);
        snapshots.write(new ProducerSnapshots.Snapshot(offset, lastBatch, epochs, producerState.entries().values()),
                force);
        currentSnapshotOffset = offset;
        currentSnapshotChanges = producerState.changes();
    }

    private static ByteBuffer copyOf(ByteBuffer buffer) {
        ByteBuffer copy = ByteBuffer.allocate(buffer.remaining());
        copy.put(buffer.duplicate()).flip();
        return copy;
    }

    // ---------------------------------------------------------------- reads

    /**
     * Reads whole stored batches, byte-exact, starting with the batch containing {@code offset}. Stops before
     * {@code maxBytes} would be exceeded, except that the first batch is returned even if larger (KIP-74); never
     * returns a batch whose last offset is at or above {@code maxOffsetExclusive} (e.g. the high watermark) or the
     * log end offset. May span segments.
     *
     * @throws LogException OFFSET_OUT_OF_RANGE if {@code offset} is below the log start offset or above the log
     *     end offset; {@code offset == logEndOffset} gives an empty buffer
     */
    public LogReadResult read(long offset, int maxBytes, long maxOffsetExclusive) throws IOException {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        readersLock.readLock().lock();
        try {
            ensureOpen();
            long endOffset = logEndOffset;
            long startOffset = logStartOffset;
            requireInLog(offset, startOffset, endOffset);
            long limitOffset = Math.min(maxOffsetExclusive, endOffset);
            ByteBuffer records = offset >= limitOffset ? ByteBuffer.allocate(0)
                    : readBatches(offset, maxBytes, limitOffset);
            return new LogReadResult(records, startOffset, endOffset);
        } finally {
            readersLock.readLock().unlock();
        }
    }

    /**
     * {@link #read} for a consumer's fetch, without copying the records: whole stored batches from the one
     * containing {@code offset}, within one segment (as Kafka's fetch reads: a read reaching a segment's end stops
     * there), handed back as a slice of the segment's file held for the caller by {@code slices} (the network
     * layer sends it with sendfile). The first batch is returned even if larger than {@code maxBytes} (KIP-74); no
     * batch whose last offset is at or above {@code maxOffsetExclusive} or the log end. When {@code slices} has no
     * room, the same bytes are copied into memory instead. The records below the high watermark that a slice covers
     * are never truncated or rewritten in place (retention and compaction delete or replace whole files, which the
     * slice's read handle keeps readable).
     *
     * @throws LogException OFFSET_OUT_OF_RANGE as {@link #read}
     */
    public LogSliceRead readSlice(long offset, int maxBytes, long maxOffsetExclusive, FileSlices slices)
            throws IOException {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be >= 0, got " + maxBytes);
        }
        readersLock.readLock().lock();
        try {
            ensureOpen();
            long endOffset = logEndOffset;
            long startOffset = logStartOffset;
            requireInLog(offset, startOffset, endOffset);
            long limitOffset = Math.min(maxOffsetExclusive, endOffset);
            if (offset >= limitOffset) {
                return LogSliceRead.empty(startOffset, endOffset);
            }
            Map.Entry<Long, LogSegment> entry = segments.floorEntry(offset);
            while (entry != null) {
                LogSegment segment = entry.getValue();
                int segmentSize = segment.size();
                int start = segment.findBatchPosition(offset, segmentSize);
                if (start >= 0) {
                    return sliceOf(segment, segment == segments.lastEntry().getValue(), start, segmentSize,
                            maxBytes, limitOffset, slices, startOffset, endOffset);
                }
                entry = segments.higherEntry(entry.getKey());
            }
            return LogSliceRead.empty(startOffset, endOffset);
        } finally {
            readersLock.readLock().unlock();
        }
    }

    private void requireInLog(long offset, long startOffset, long endOffset) {
        if (offset < startOffset || offset > endOffset) {
            throw new LogException(LogError.OFFSET_OUT_OF_RANGE, "Offset " + offset + " is outside the log ["
                    + startOffset + ", " + endOffset + "] of " + dir.getFileName());
        }
    }

    private static LogSliceRead sliceOf(LogSegment segment, boolean active, int start, int segmentSize, int maxBytes,
            long limitOffset, FileSlices slices, long startOffset, long endOffset) throws IOException {
        int pos = start;
        long records = 0;
        long lastOffset = -1;
        boolean skipped = false;
        while (pos < segmentSize) {
            if (pos > start && !skipped) {
                // After the first batch, skip to a batch start the offset index knows (every batch before it is
                // within the bounds) rather than one positional read per batch header on the way: a 1 MB fetch of
                // 16 KB batches reads a handful of headers, not sixty-four.
                skipped = true;
                LogSegment.BatchStart boundary = segment.indexedBoundary(pos, Math.min((long) start + maxBytes, segmentSize),
                        limitOffset);
                if (boundary != null) {
                    records += boundary.baseOffset() - (lastOffset + 1);
                    lastOffset = boundary.baseOffset() - 1;
                    pos = boundary.position();
                    continue;
                }
            }
            RecordBatchHeader header = segment.readHeader(pos);
            int size = header.sizeInBytes();
            if (header.lastOffset() >= limitOffset || (pos > start && pos - start + (long) size > maxBytes)) {
                break;
            }
            records += header.lastOffset() - header.baseOffset() + 1;
            lastOffset = header.lastOffset();
            pos += size;
        }
        int length = pos - start;
        if (length == 0) {
            return LogSliceRead.empty(startOffset, endOffset);
        }
        FileSlice slice = slices.open(segment, active, start, length);
        ByteBuffer copy = null;
        if (slice == null) {
            copy = ByteBuffer.allocate(length);
            segment.read(copy, start);
            copy.flip();
        }
        return new LogSliceRead(slice, copy, length, records, lastOffset, startOffset, endOffset);
    }

    /** One contiguous byte range of a segment to copy out. */
    private record Chunk(LogSegment segment, int position, int length) {
    }

    /**
     * The batches {@link #read} returns, read with one positional read per segment spanned and no read per batch
     * header: the bytes there are up to {@code maxBytes} from the batch holding {@code offset} on, cut in memory
     * after the last whole batch below {@code limitOffset}. A first batch larger than {@code maxBytes} is read on its
     * own (KIP-74).
     */
    private ByteBuffer readBatches(long offset, int maxBytes, long limitOffset) throws IOException {
        List<Chunk> chunks = new ArrayList<>(2);
        long planned = 0;
        LogSegment segment = segments.floorEntry(offset).getValue();
        int position = segment.findBatchPosition(offset, segment.size());
        while (segment != null && (chunks.isEmpty() || planned < maxBytes)) {
            int segmentSize = segment.size();
            if (position >= 0 && position < segmentSize) {
                int length = (int) Math.min(segmentSize - position, maxBytes - planned);
                chunks.add(new Chunk(segment, position, length));
                planned += length;
            }
            Map.Entry<Long, LogSegment> next = segments.higherEntry(segment.baseOffset());
            segment = next == null ? null : next.getValue();
            position = 0;
        }
        if (chunks.isEmpty()) {
            return ByteBuffer.allocate(0);
        }
        ByteBuffer out = ByteBuffer.allocate((int) planned);
        for (Chunk chunk : chunks) {
            out.limit(out.position() + chunk.length());
            chunk.segment().read(out, chunk.position());
        }
        int end = wholeBatchesEnd(out, chunks, limitOffset);
        if (end > 0) {
            return out.position(0).limit(end);
        }
        Chunk first = chunks.get(0);
        RecordBatchHeader header = first.length() >= RecordBatchHeader.HEADER_SIZE ? RecordBatchHeader.parse(out, 0)
                : first.segment().readHeader(first.position());
        requireBatchSize(header.sizeInBytes(), first.segment(), first.position());
        if (header.lastOffset() >= limitOffset) {
            return ByteBuffer.allocate(0);
        }
        ByteBuffer batch = ByteBuffer.allocate(header.sizeInBytes());
        first.segment().read(batch, first.position());
        return batch.flip();
    }

    /**
     * Where the whole batches below {@code limitOffset} end in {@code read} (the {@code chunks}' bytes back to back,
     * each starting at a batch); a batch cut short by the read's budget ends them.
     *
     * @throws LogException CORRUPT_MESSAGE for a batch length no batch can have
     */
    private int wholeBatchesEnd(ByteBuffer read, List<Chunk> chunks, long limitOffset) {
        int end = 0;
        int chunkStart = 0;
        for (Chunk chunk : chunks) {
            int chunkEnd = chunkStart + chunk.length();
            int pos = chunkStart;
            while (chunkEnd - pos >= RecordBatchHeader.HEADER_SIZE) {
                int size = read.getInt(pos + RecordBatchHeader.BATCH_LENGTH_OFFSET) + RecordBatchHeader.LOG_OVERHEAD;
                requireBatchSize(size, chunk.segment(), chunk.position() + pos - chunkStart);
                long lastOffset = read.getLong(pos + RecordBatchHeader.BASE_OFFSET_OFFSET)
                        + read.getInt(pos + RecordBatchHeader.LAST_OFFSET_DELTA_OFFSET);
                if (lastOffset >= limitOffset || size > chunkEnd - pos) {
                    return end;
                }
                pos += size;
                end = pos;
            }
            if (pos < chunkEnd) {
                return end;
            }
            chunkStart = chunkEnd;
        }
        return end;
    }

    /** @throws LogException CORRUPT_MESSAGE if {@code size} (of the batch at {@code position}) no batch can have */
    private void requireBatchSize(int size, LogSegment segment, int position) {
        if (size < RecordBatchHeader.HEADER_SIZE) {
            throw new LogException(LogError.CORRUPT_MESSAGE, "Batch length " + size + " at position " + position
                    + " of " + segment + " in " + dir.getFileName());
        }
    }

    /** {@link #offsetForTimestamp(long, long)} bounded by the log end offset only. */
    public Optional<TimestampOffset> offsetForTimestamp(long timestampMs) throws IOException {
        return offsetForTimestamp(timestampMs, Long.MAX_VALUE);
    }

    /**
     * The first record (lowest offset) whose timestamp is >= {@code timestampMs}, with that record's own
     * timestamp, among offsets below {@code maxOffsetExclusive} and the log end offset; empty if there is none.
     * Skips segments and batches by their max timestamp, then decompresses candidate batches.
     */
    public Optional<TimestampOffset> offsetForTimestamp(long timestampMs, long maxOffsetExclusive)
            throws IOException {
        readersLock.readLock().lock();
        try {
            ensureOpen();
            long limitOffset = Math.min(maxOffsetExclusive, logEndOffset);
            long startOffset = logStartOffset;
            for (LogSegment segment : segments.values()) {
                if (segment.baseOffset() >= limitOffset) {
                    break;
                }
                Optional<TimestampOffset> found = segment.findByTimestamp(timestampMs, startOffset, limitOffset);
                if (found.isPresent()) {
                    return found;
                }
            }
            return Optional.empty();
        } finally {
            readersLock.readLock().unlock();
        }
    }

    /**
     * The first record (lowest offset) carrying the largest timestamp in the log, with that timestamp (KIP-734's
     * max-timestamp lookup, as Kafka's {@code UnifiedLog.fetchOffsetByTimestamp(MAX_TIMESTAMP)}); empty for an
     * empty log. Found over the whole log: the caller decides whether the offset is visible.
     */
    public Optional<TimestampOffset> offsetOfMaxTimestamp() throws IOException {
        long max = -1;
        for (LogSegment segment : segments.values()) {
            max = Math.max(max, segment.maxTimestamp());
        }
        // Records without a timestamp (-1) are found too, as Kafka's lookup of a log that has no other records.
        return logEndOffset == logStartOffset ? Optional.empty() : offsetForTimestamp(max);
    }

    public long logStartOffset() {
        return logStartOffset;
    }

    public long logEndOffset() {
        return logEndOffset;
    }

    // ---------------------------------------------------------------- leader epochs (KIP-101, KIP-279, KIP-320)

    /**
     * The leader epoch cache of this log. Read it from any thread; change it only through this log
     * ({@link #assignEpoch}, appends, truncation, retention), which serialises changes with appends.
     */
    public LeaderEpochCache leaderEpochCache() {
        return epochCache;
    }

    /** The latest leader epoch that wrote to (or was {@linkplain #assignEpoch assigned} on) this log. */
    public OptionalInt latestEpoch() {
        return epochCache.latestEpoch();
    }

    /**
     * Where leader epoch {@code epoch} ends in this log, for OffsetForLeaderEpoch and follower truncation: see
     * {@link LeaderEpochCache#endOffsetFor}; the latest epoch ends at the log end offset. Any thread. The log end
     * offset is read before the cache (as Kafka does), so a concurrent append in a new epoch cannot make the
     * previous epoch look longer than it is.
     */
    public EpochEndOffset endOffsetForEpoch(int epoch) {
        long endOffset = logEndOffset;
        return epochCache.endOffsetFor(epoch, endOffset);
    }

    /**
     * Records that {@code epoch} starts at the current log end offset, for a replica that becomes leader of a new
     * epoch (Kafka's {@code Partition.makeLeader}), before its first append. Nothing happens if {@code epoch} is
     * already the latest.
     *
     * @throws IllegalArgumentException if {@code epoch} is negative or older than the latest epoch
     * @throws UncheckedIOException if the checkpoint cannot be written (unlike the other methods, whose
     *     {@link IOException} is checked, so that role changes need not declare it); the log is then in an unknown
     *     state, as after any I/O error
     */
    public void assignEpoch(int epoch) {
        appendLock.lock();
        try {
            ensureOpen();
            requireCurrentEpoch(epoch);
            epochCache.assign(epoch, logEndOffset);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot record leader epoch " + epoch + " in " + dir, e);
        } finally {
            appendLock.unlock();
        }
    }

    // ---------------------------------------------------------------- truncation and retention

    /**
     * Removes every record at and above {@code offset} (follower truncation, KIP-101), and the leader epoch entries
     * that start at or after the new log end offset. Batches are never split: if {@code offset} falls inside a
     * batch, that whole batch goes too and the log end offset becomes its base offset (as Kafka's
     * {@code LogSegment.truncateTo}); a follower fetches the removed records again. Producer snapshots above the new
     * log end offset are deleted. Each idempotent producer that had a batch removed gets the state the newest
     * snapshot at or below the new log end plus a replay of the headers after it give it, as an open would (see
     * {@code rebuildProducerState}); one with no batch left is forgotten.
     *
     * <p>If {@code offset} is at or above the log end offset no batch is removed, but leader epoch entries starting
     * at the log end offset are (Kafka: a replica that became leader, assigned its epoch and appended nothing must
     * not keep that epoch once it follows a leader whose log continues an older epoch there).
     *
     * @throws IllegalArgumentException if {@code offset} is below the log start offset
     */
    public void truncateTo(long offset) throws IOException {
        try {
            truncateToUnreported(offset);
        } catch (IOException e) {
            throw diskFailure(e);
        }
    }

    private void truncateToUnreported(long offset) throws IOException {
        appendLock.lock();
        try {
            ensureOpen();
            if (offset >= logEndOffset) {
                epochCache.truncateFromEnd(logEndOffset);
                return;
            }
            if (offset < logStartOffset) {
                throw new IllegalArgumentException("Cannot truncate to " + offset + ", below the log start offset "
                        + logStartOffset + " (use truncateFullyAndStartAt)");
            }
            truncations++;
            unreplicatedTxns.tailMap(offset).clear();
            LogSegment floor = segments.floorEntry(offset).getValue();
            // The batch holding offset (or the first one after it, past a gap in the offsets) goes entirely.
            int position = floor.findBatchPosition(offset, floor.size());
            long target = position < 0 ? offset : floor.readHeader(position).baseOffset();
            Set<Long> truncatedProducers = producersFrom(floor, position);
            readersLock.writeLock().lock();
            try {
                long removedBytes = 0;
                for (LogSegment later : new ArrayList<>(segments.tailMap(offset, false).values())) {
                    removedBytes += later.size();
                    segments.remove(later.baseOffset());
                    later.closeAndDelete();
                }
                removedBytes += floor.truncateTo(target);
                logEndOffset = floor.nextOffset();
                if (logStartOffset > logEndOffset) {
                    // The cut batch straddled a log start that DeleteRecords put inside it: the start comes down to
                    // the new end (Kafka's truncateTo lowers it too); the follower's next fetch answer moves it up.
                    logStartOffset = logEndOffset;
                    Checkpoint.write(dir.resolve(LOG_START_OFFSET_FILE), logStartOffset);
                }
                // Snapshots above the new end describe batches that are gone. Deleted before the directory fsync,
                // so that none survives a crash once other batches are appended in their place.
                snapshots.deleteAbove(logEndOffset);
                epochCache.truncateFromEnd(logEndOffset);
                recoveryPoint = Math.min(recoveryPoint, logEndOffset);
                Checkpoint.write(dir.resolve(RECOVERY_POINT_FILE), recoveryPoint);
                // Offsets from the new end are written again: the cleaner must see them as dirty (Kafka's
                // LogCleanerManager.maybeTruncateCheckpoint).
                Path cleanerCheckpoint = dir.resolve(CLEANER_CHECKPOINT_FILE);
                if (Checkpoint.read(cleanerCheckpoint, 0) > logEndOffset) {
                    Checkpoint.write(cleanerCheckpoint, logEndOffset);
                }
                DiskIo.fsyncDirectory(dir);
                LOG.info("Truncated partition log dir={} toOffset={} removedBytes={} logEndOffset={}", dir, offset,
                        removedBytes, logEndOffset);
            } finally {
                readersLock.writeLock().unlock();
            }
            // Outside the exclusive lock: reads go on; appends wait on the append lock, so none sees the old state.
            rebuildProducerState(truncatedProducers);
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * Ids of the producers with a batch from {@code position} of {@code floor} (nothing of it if negative) or in a
     * later segment: the batches a truncation removes. Reads their headers once. Append lock held.
     */
    private Set<Long> producersFrom(LogSegment floor, int position) throws IOException {
        Set<Long> producerIds = new HashSet<>();
        BatchScanner.Visitor collect = (header, pos) -> {
            if (header.hasProducerId()) {
                producerIds.add(header.producerId());
            }
        };
        if (position >= 0) {
            floor.forEachBatchFrom(position, collect);
        }
        for (LogSegment later : segments.tailMap(floor.baseOffset(), false).values()) {
            later.forEachBatch(collect);
        }
        return producerIds;
    }

    /**
     * Rebuilds the state of {@code producerIds} as {@link #open} would: from the newest readable snapshot at or below
     * the new log end offset, then the batch headers after it (Kafka's {@code UnifiedLog.truncateTo} reloads producer
     * state the same way). Not from the old state minus the removed batches: a producer's state (epoch, last
     * {@value ProducerStateManager#MAX_CACHED_BATCHES} batches, last timestamp) may come from batches anywhere below
     * the truncation point. Cost: reading a snapshot and a sequential header walk (64 KiB read-ahead, no CRC, no
     * decompression) from it, under the append lock: the last segment or two, as snapshots of the last two segment
     * bases are kept; the whole log only when the truncation goes deeper or no snapshot is readable. Paid only when
     * a truncation removes a batch with a producer id, which is rare (a follower's divergent tail, KIP-101).
     */
    private void rebuildProducerState(Set<Long> producerIds) throws IOException {
        if (producerIds.isEmpty()) {
            return;
        }
        ProducerStateManager replayed = new ProducerStateManager();
        Optional<ProducerSnapshots.Snapshot> snapshot = LogLoader.latestMatchingSnapshot(dir, segments, snapshots,
                logEndOffset);
        snapshot.ifPresent(s -> replayed.load(s.producers().stream()
                .filter(entry -> producerIds.contains(entry.producerId())).toList()));
        long from = snapshot.map(ProducerSnapshots.Snapshot::offset).orElse(segments.firstKey());
        ProducerStateManager all = new ProducerStateManager();
        snapshot.ifPresent(s -> all.load(s.producers()));
        // Every producer replays (markers need the transaction's first offset), only producerIds are taken
        long headersRead = LogLoader.replayProducers(segments, from, all, new HashMap<>(), header -> { });
        replayed.load(all.entries().values().stream().filter(e -> producerIds.contains(e.producerId())).toList());
        replayed.truncateHead(logStartOffset); // as in open
        producerState.restoreAfterTruncation(producerIds, replayed);
        LOG.info("Rebuilt producer state after truncation dir={} producers={} logEndOffset={} snapshotOffset={} "
                + "batchHeadersRead={}", dir, producerIds.size(), logEndOffset, snapshot.isPresent() ? from : -1,
                headersRead);
    }

    /**
     * Deletes every segment and restarts the log empty at {@code newOffset} (log start = log end = newOffset),
     * for a follower whose fetch offset fell below the leader's log start offset. Producer state, its snapshots and
     * the leader epoch cache are cleared.
     */
    public void truncateFullyAndStartAt(long newOffset) throws IOException {
        try {
            truncateFullyAndStartAtUnreported(newOffset);
        } catch (IOException e) {
            throw diskFailure(e);
        }
    }

    private void truncateFullyAndStartAtUnreported(long newOffset) throws IOException {
        if (newOffset < 0) {
            throw new IllegalArgumentException("newOffset must be >= 0, got " + newOffset);
        }
        appendLock.lock();
        try {
            ensureOpen();
            truncations++;
            unreplicatedTxns.clear();
            readersLock.writeLock().lock();
            try {
                snapshots.deleteAll();
                for (LogSegment segment : new ArrayList<>(segments.values())) {
                    segment.closeAndDelete();
                }
                segments.clear();
                segments.put(newOffset, LogSegment.create(dir, newOffset, config.segmentIndexBytes()));
                logStartOffset = newOffset;
                logEndOffset = newOffset;
                producerState.clear();
                epochCache.clear();
                recoveryPoint = newOffset;
                Checkpoint.write(dir.resolve(RECOVERY_POINT_FILE), recoveryPoint);
                Checkpoint.write(dir.resolve(LOG_START_OFFSET_FILE), logStartOffset);
                Checkpoint.write(dir.resolve(CLEANER_CHECKPOINT_FILE), newOffset);
                DiskIo.fsyncDirectory(dir);
                LOG.info("Truncated partition log fully dir={} newOffset={}", dir, newOffset);
            } finally {
                readersLock.writeLock().unlock();
            }
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * Applies {@code retention.ms} then {@code retention.bytes} to closed segments, oldest first; the active
     * segment is never deleted. Advances and persists the log start offset to the first remaining segment, and
     * moves the leader epoch entry covering it to start there ({@link LeaderEpochCache#truncateFromStart}).
     * Producers whose last batch went are forgotten, and so are the producer snapshots below the new log start.
     *
     * @return the number of segments deleted
     */
    public int deleteRetainedSegments() throws IOException {
        if (!compaction.delete()) {
            return 0; // cleanup.policy=compact: no retention by time or size, as in Kafka
        }
        appendLock.lock();
        try {
            ensureOpen();
            List<LogSegment> deletable = retainedSegmentsToDelete(config, clock.millis());
            if (deletable.isEmpty()) {
                return 0;
            }
            readersLock.writeLock().lock();
            try {
                long bytes = 0;
                for (LogSegment segment : deletable) {
                    bytes += segment.size();
                    segments.remove(segment.baseOffset());
                    segment.closeAndDelete();
                }
                logStartOffset = Math.max(logStartOffset, segments.firstKey());
                producerState.truncateHead(logStartOffset);
                epochCache.truncateFromStart(logStartOffset);
                snapshots.retain(segments.navigableKeySet(), logStartOffset, recoveryPoint);
                Checkpoint.write(dir.resolve(LOG_START_OFFSET_FILE), logStartOffset);
                DiskIo.fsyncDirectory(dir);
                LOG.info("Deleted segments by retention dir={} segments={} bytes={} logStartOffset={}", dir,
                        deletable.size(), bytes, logStartOffset);
            } finally {
                readersLock.writeLock().unlock();
            }
            return deletable.size();
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * Moves the log start offset up to {@code newLogStartOffset} (DeleteRecords on the leader, or a follower taking
     * its leader's log start; Kafka's {@code UnifiedLog.maybeIncrementLogStartOffset}). Reads below it answer
     * OFFSET_OUT_OF_RANGE from now on. Every segment wholly below it is deleted; the segment holding it stays (its
     * records below the start are skipped by readers). The new start is written to {@code log-start-offset} (fsynced)
     * before any segment goes, so a restart never brings deleted records back. Producers whose last batch is below it
     * are forgotten unless they have an open transaction here (as retention's {@code truncateHead}); the leader epoch
     * entry covering it moves to start there; producer snapshots below it go. A transaction open across the new
     * start keeps holding the last stable offset (its first offset stays known), which never drops below the start.
     * The caller bounds it by the high watermark: this log knows no high watermark.
     *
     * @return the log start offset afterwards (unchanged if {@code newLogStartOffset} is not above it)
     * @throws LogException OFFSET_OUT_OF_RANGE if {@code newLogStartOffset} is above the log end offset
     */
    public long advanceLogStartOffset(long newLogStartOffset) throws IOException {
        appendLock.lock();
        try {
            ensureOpen();
            if (newLogStartOffset > logEndOffset) {
                throw new LogException(LogError.OFFSET_OUT_OF_RANGE, "Cannot move the log start offset of "
                        + dir.getFileName() + " to " + newLogStartOffset + ", past the log end offset " + logEndOffset);
            }
            if (newLogStartOffset <= logStartOffset) {
                return logStartOffset;
            }
            readersLock.writeLock().lock();
            try {
                logStartOffset = newLogStartOffset;
                Checkpoint.write(dir.resolve(LOG_START_OFFSET_FILE), logStartOffset);
                List<LogSegment> below = new ArrayList<>();
                for (Map.Entry<Long, LogSegment> next : segments.tailMap(segments.firstKey(), false).entrySet()) {
                    if (next.getKey() > newLogStartOffset) {
                        break;
                    }
                    below.add(segments.lowerEntry(next.getKey()).getValue());
                }
                long bytes = 0;
                for (LogSegment segment : below) {
                    bytes += segment.size();
                    segments.remove(segment.baseOffset());
                    segment.closeAndDelete();
                }
                producerState.truncateHead(logStartOffset);
                epochCache.truncateFromStart(logStartOffset);
                snapshots.retain(segments.navigableKeySet(), logStartOffset, recoveryPoint);
                DiskIo.fsyncDirectory(dir);
                LOG.info("Moved the log start offset dir={} logStartOffset={} segmentsDeleted={} bytes={}", dir,
                        logStartOffset, below.size(), bytes);
                return logStartOffset;
            } finally {
                readersLock.writeLock().unlock();
            }
        } finally {
            appendLock.unlock();
        }
    }

    /** The cleanup settings: retention applies only with {@code delete}, {@link #maybeClean} only with compact. */
    public void updateCompaction(CompactionConfig compaction) {
        this.compaction = Objects.requireNonNull(compaction);
    }

    public CompactionConfig compaction() {
        return compaction;
    }

    /** How leader appends are rewritten (timestamp type, compression, timestamp bounds); followers copy as is. */
    public void updateMessageFormat(MessageFormatConfig messageFormat) {
        this.messageFormat = Objects.requireNonNull(messageFormat);
    }

    public MessageFormatConfig messageFormat() {
        return messageFormat;
    }

    /** Kafka's codec ids in a batch's attributes, by {@code compression.type}. */
    private static int codecId(String compressionType) {
        return switch (compressionType) {
            case "gzip" -> 1;
            case "snappy" -> 2;
            case "lz4" -> 3;
            case "zstd" -> 4;
            default -> 0;
        };
    }

    /**
     * Kafka's LogValidator on a leader append: CreateTime bounds (KIP-937), then the rewrite for LogAppendTime or
     * another codec when {@code format} asks for one. Returns the batches to store (the same buffer if unchanged).
     */
    private static ByteBuffer applyMessageFormat(ByteBuffer batches, List<RecordBatchHeader> received,
            MessageFormatConfig format, long nowMs, int maxMessageBytes) {
        if (format.boundsTimestamps()) {
            long min = format.timestampBeforeMaxMs() > nowMs ? Long.MIN_VALUE : nowMs - format.timestampBeforeMaxMs();
            long max = Long.MAX_VALUE - nowMs < format.timestampAfterMaxMs() ? Long.MAX_VALUE
                    : nowMs + format.timestampAfterMaxMs();
            String problem = KafkaRecords.timestampOutOfRange(batches, min, max);
            if (problem != null) {
                throw new LogException(LogError.INVALID_TIMESTAMP, problem);
            }
        }
        boolean recompress = !format.compressionType().equals("producer") && received.stream()
                .anyMatch(h -> h.compressionCodec() != codecId(format.compressionType()));
        if (!format.logAppendTime() && !recompress) {
            return batches;
        }
        // A batch may expand while it is rebuilt; an uncompressed result must fit max.message.bytes anyway.
        long maxExpandedBytes = format.compressionType().equals("uncompressed") ? maxMessageBytes
                : Math.max(MAX_RECOMPRESSION_BYTES, maxMessageBytes);
        return KafkaRecords.rewrite(batches, format.compressionType(), format.logAppendTime() ? nowMs : -1,
                maxExpandedBytes);
    }

    /**
     * Compacts if the log's {@code cleanup.policy} has {@code compact} and it is due (Kafka's cleaner manager): over
     * the closed segments below {@code upperBoundOffset} (the caller's high watermark) whose newest record is at least
     * {@code min.compaction.lag.ms} old, the dirty bytes are at least {@code min.cleanable.dirty.ratio} of the total,
     * or a dirty segment's newest record is older than {@code max.compaction.lag.ms}. The offset map gets at most
     * {@code maxOffsetMapBytes} ({@code log.cleaner.dedupe.buffer.size}), and no more than the dirty bytes need.
     * The clean's reads and writes go through {@code throttle} ({@link #clean}).
     */
    public CleanResult maybeClean(long upperBoundOffset, long nowMs, long maxOffsetMapBytes, CleanerThrottle throttle)
            throws IOException, InterruptedException {
        CompactionConfig c = compaction;
        if (!c.compact()) {
            return CleanResult.NOTHING;
        }
        CleanPlan plan = plan(upperBoundOffset, nowMs - c.minCompactionLagMs());
        long[] cleanAndDirty = cleanAndDirtyBytes(plan);
        long cleanBytes = cleanAndDirty[0];
        long dirtyBytes = cleanAndDirty[1];
        dirtyPercent = percent(cleanBytes, dirtyBytes);
        boolean overdue = false;
        for (LogSegment segment : plan.closedSegments()) {
            overdue |= segment.nextOffset() > plan.firstDirty()
                    && segment.maxTimestamp() <= nowMs - c.maxCompactionLagMs();
        }
        boolean tombstonesDue = nowMs >= tombstonesDueMs && cleanBytes > 0;
        if (!tombstonesDue && (dirtyBytes == 0
                || ((double) dirtyBytes / (cleanBytes + dirtyBytes) < c.minCleanableDirtyRatio() && !overdue))) {
            return CleanResult.NOTHING;
        }
        long mapBytes = Math.min(maxOffsetMapBytes, Math.max(64 << 10, 2 * dirtyBytes));
        CleanResult result = clean(plan, nowMs, c.deleteRetentionMs(), mapBytes, throttle);
        if (result.segmentsCleaned() > 0) {
            long[] after = cleanAndDirtyBytes(plan(upperBoundOffset, nowMs - c.minCompactionLagMs()));
            dirtyPercent = percent(after[0], after[1]);
        }
        return result;
    }

    /** The bytes of {@code plan}'s closed segments below its first dirty offset (clean), and the rest (dirty). */
    private static long[] cleanAndDirtyBytes(CleanPlan plan) {
        long[] cleanAndDirty = new long[2];
        for (LogSegment segment : plan.closedSegments()) {
            cleanAndDirty[segment.nextOffset() <= plan.firstDirty() ? 0 : 1] += segment.size();
        }
        return cleanAndDirty;
    }

    private static int percent(long cleanBytes, long dirtyBytes) {
        return cleanBytes + dirtyBytes == 0 ? 0 : (int) (100 * dirtyBytes / (cleanBytes + dirtyBytes));
    }

    /**
     * The dirty share of the bytes compaction could work on, in percent, as {@link #maybeClean} last computed it
     * (Kafka's {@code max-dirty-percent}, per log): the closed segments past the first dirty offset over all closed
     * segments it may clean. 0 until it first ran.
     */
    public int dirtyPercent() {
        return dirtyPercent;
    }

    /** The time of the last clean that rewrote segments of this log (its {@code nowMs}), or -1 if none did yet. */
    public long lastCleanMs() {
        return lastCleanMs;
    }

    /**
     * What a clean works on, taken under the append lock: the closed segments wholly below {@code cleanableEnd} and the
     * first unstable offset, up to the first whose newest record is newer than {@code newestTimestampMs}
     * (min.compaction.lag.ms); the producers' state (whose last batches keep their headers); the aborted
     * transactions overlapping those segments (every one whose data is there: its marker is written and indexed, as it
     * is below the first unstable offset); the first dirty offset.
     */
    private record CleanPlan(List<LogSegment> closedSegments, Map<Long, ProducerStateManager.ProducerEntry> producers,
            List<AbortedTxn> abortedTxns, long firstDirty, long truncations) {
    }

    private CleanPlan plan(long cleanableEnd, long newestTimestampMs) throws IOException {
        appendLock.lock();
        try {
            ensureOpen();
            // An open transaction's records may still be aborted, and a completed one's marker may still be truncated
            // away (Kafka's cleaner stops at the log's first unstable offset too).
            long end = Math.min(cleanableEnd, firstUnstableOffsetForCleaning());
            List<LogSegment> all = new ArrayList<>(segments.values());
            List<LogSegment> closedSegments = new ArrayList<>();
            for (LogSegment segment : all.subList(0, all.size() - 1)) {
                if (segment.nextOffset() > end || segment.maxTimestamp() > newestTimestampMs) {
                    break;
                }
                closedSegments.add(segment);
            }
            List<AbortedTxn> aborted = new ArrayList<>();
            if (!closedSegments.isEmpty()) {
                long from = closedSegments.get(0).baseOffset();
                long to = closedSegments.get(closedSegments.size() - 1).nextOffset();
                for (LogSegment segment : all) {
                    if (segment.nextOffset() > from || segment == all.get(all.size() - 1)) {
                        aborted.addAll(segment.abortedTxns(from, to));
                    }
                }
            }
            long firstDirty = Math.max(Checkpoint.read(dir.resolve(CLEANER_CHECKPOINT_FILE), 0), logStartOffset);
            return new CleanPlan(closedSegments, producerState.entries(), aborted, firstDirty, truncations);
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * The first offset of the oldest transaction that is open, or completed with its marker not yet replicated (the
     * caller's high watermark moves are told through {@link #onHighWatermark}); {@code Long.MAX_VALUE} if none.
     * Append lock.
     */
    private long firstUnstableOffsetForCleaning() {
        long first = producerState.firstUnstableOffset().orElse(Long.MAX_VALUE);
        for (long firstOffset : unreplicatedTxns.values()) {
            first = Math.min(first, firstOffset);
        }
        return first;
    }

    /** What one {@link #clean} did. */
    public record CleanResult(int segmentsCleaned, long bytesBefore, long bytesAfter, long firstDirtyOffset) {
        static final CleanResult NOTHING = new CleanResult(0, 0, 0, -1);
    }

    /**
     * Compacts the closed segments below {@code cleanableEndOffset} (Kafka's log cleaner, one segment at a time):
     * builds a map of each key's latest offset over the dirty segments (those from the first dirty offset, in a map of
     * at most {@code offsetMapBytes}; whole segments only; records of aborted transactions are not mapped), then
     * rewrites every closed segment up to the last mapped one keeping, per {@link KafkaRecords#compact}, only each
     * key's latest record, tombstones until {@code deleteRetentionMs} after their first compaction, and the header of
     * each producer's last batch. Records of aborted transactions all go; a transaction marker stays while a batch of
     * its transaction does, then until {@code deleteRetentionMs} after the first clean that finds none
     * ({@link CleanedTransactions}). Offsets never change; the active segment is never touched. The caller bounds
     * {@code cleanableEndOffset} (the high watermark, {@code min.compaction.lag.ms}); the log also stops at its first
     * unstable offset (an open transaction, or one whose marker the high watermark has not passed).
     *
     * <p>Crash safety: a cleaned copy is written and fsynced under {@value #CLEANER_DIR}/ with its indexes and its
     * aborted-transaction index (the entries of the transactions with data left), the transaction index moved to
     * {@code <base>.txnindex.<end>.swap}, the copy renamed to {@code <base>.log.<end>.swap}, then the old segments are
     * deleted, the indexes moved in and the swap renamed into place ({@link #swapIn}). Consecutive segments whose
     * bytes add up to at most {@code segment.bytes} are cleaned into one ({@link #groupBySize}), so the small segments
     * a clean leaves merge on the next. {@link #open} deletes leftover copies and completes a swap it finds. A segment
     * that changed meanwhile (truncated, deleted by retention) is not swapped.
     *
     * <p>I/O bound (Kafka's {@code Throttler} in its cleaner): {@code throttle} is told the size of every chunk of
     * about 1 MiB just read (to map the keys, then to copy) and of every chunk of kept batches just written to the
     * copy; it may block there, outside the log's locks. If it is interrupted, the clean stops as if a segment had
     * gone (segments already swapped in stay, the cleaned copy in progress is deleted, the first dirty offset is not
     * advanced, so the next clean goes over them again) and the {@link InterruptedException} is rethrown.
     *
     * <p>Runs on the caller's thread, beside appends and reads; it holds the locks only to swap a segment in.
     */
    public CleanResult clean(long cleanableEndOffset, long nowMs, long deleteRetentionMs, long offsetMapBytes,
            CleanerThrottle throttle) throws IOException, InterruptedException {
        return clean(plan(cleanableEndOffset, Long.MAX_VALUE), nowMs, deleteRetentionMs, offsetMapBytes, throttle);
    }

    private CleanResult clean(CleanPlan plan, long nowMs, long deleteRetentionMs, long offsetMapBytes,
            CleanerThrottle throttle) throws IOException, InterruptedException {
        Objects.requireNonNull(throttle);
        try {
            return cleanPlanned(plan, nowMs, deleteRetentionMs, offsetMapBytes, throttle);
        } catch (SegmentGone e) {
            DiskIo.deleteTree(dir.resolve(CLEANER_DIR));
            LOG.info("Compaction of dir={} stopped: {}", dir, e.getMessage());
            return CleanResult.NOTHING;
        } catch (InterruptedException e) {
            DiskIo.deleteTree(dir.resolve(CLEANER_DIR));
            LOG.info("Compaction of dir={} interrupted", dir);
            throw e;
        }
    }

    private CleanResult cleanPlanned(CleanPlan plan, long nowMs, long deleteRetentionMs, long offsetMapBytes,
            CleanerThrottle throttle) throws IOException, InterruptedException {
        List<LogSegment> closedSegments = plan.closedSegments();
        long firstDirty = plan.firstDirty();
        CleanedTransactions txns = new CleanedTransactions(plan.abortedTxns());
        // Map each dirty key to its latest offset, whole segments only; aborted records are not mapped.
        OffsetMap map = new OffsetMap(offsetMapBytes);
        long mappedEnd = -1;
        int mappedSegments = 0;
        for (LogSegment segment : closedSegments) {
            if (segment.nextOffset() <= firstDirty) {
                mappedSegments++;
                continue;
            }
            if (!mapKeys(segment, map, txns, throttle)) {
                break;
            }
            mappedSegments++;
            mappedEnd = segment.nextOffset();
        }
        boolean tombstonePass = false;
        if (mappedEnd < 0 && mappedSegments == closedSegments.size() && nowMs >= tombstonesDueMs) {
            // Nothing dirty, but kept tombstones or markers are due: rewrite the compacted segments to drop them.
            tombstonePass = true;
            mappedEnd = firstDirty;
        }
        if (mappedEnd < 0) {
            if (mappedSegments < closedSegments.size()) {
                LOG.warn("Cannot compact dir={}: one segment holds more keys than the cleaner's offset map ({} "
                        + "bytes)", dir, offsetMapBytes);
            }
            return CleanResult.NOTHING;
        }
        long[] earliestHorizon = {Long.MAX_VALUE};
        KafkaRecords.CompactionRules rules = compactionRules(plan.producers(), map, txns, nowMs, deleteRetentionMs,
                earliestHorizon);
        Path cleaning = dir.resolve(CLEANER_DIR);
        Files.createDirectories(cleaning);
        long before = 0;
        long after = 0;
        int cleaned = 0;
        for (List<LogSegment> group : groupBySize(closedSegments.subList(0, mappedSegments), config.segmentBytes(),
                config.segmentIndexBytes() / TimeIndex.ENTRY_SIZE)) {
            LogSegment copy = cleanedCopy(group, cleaning, rules, nowMs, deleteRetentionMs, throttle);
            long copySize = copy.size();
            copy.close();
            // The entries of the aborted transactions with data left whose markers the group holds, in marker order
            TransactionIndex.writeFile(cleaning.resolve(LogSegment.fileName(copy.baseOffset(),
                    TransactionIndex.SUFFIX)), txns.takeIndexEntries());
            long groupBytes = 0;
            for (LogSegment segment : group) {
                groupBytes += segment.size();
            }
            if (!swapIn(group, cleaning, plan.truncations())) {
                DiskIo.deleteTree(cleaning);
                return new CleanResult(cleaned, before, after, firstDirty);
            }
            before += groupBytes;
            after += copySize;
            cleaned += group.size();
        }
        appendLock.lock();
        try {
            if (truncations != plan.truncations()) {
                // The offsets the map saw may have been written again since: they stay dirty
                LOG.info("Compaction of dir={} done, but the log was truncated meanwhile: checkpoint not moved", dir);
                DiskIo.deleteTree(cleaning);
                return new CleanResult(cleaned, before, after, firstDirty);
            }
            Checkpoint.write(dir.resolve(CLEANER_CHECKPOINT_FILE), Math.min(mappedEnd, logEndOffset));
        } finally {
            appendLock.unlock();
        }
        tombstonesDueMs = earliestHorizon[0];
        if (cleaned > 0) {
            lastCleanMs = nowMs;
        }
        DiskIo.deleteTree(cleaning);
        DiskIo.fsyncDirectory(dir);
        LOG.info("Compacted dir={} segments={} bytes={}->{} cleanedUpTo={}{}", dir, cleaned, before, after, mappedEnd,
                tombstonePass ? " (expired tombstones and markers)" : "");
        return new CleanResult(cleaned, before, after, mappedEnd);
    }

    /**
     * Kafka's cleaner rules for one pass, batch by batch in offset order ({@link CleanedTransactions} tracks the
     * transactions): an aborted transaction's records all go; other data records stay if they are their key's latest
     * in {@code map} (tombstones until their horizon); a batch that holds its producer's last sequence keeps its
     * header, and so does a marker that holds its producer's epoch (the producer has no data batch left in its
     * state: a marker bumped its epoch); a marker whose transaction has no data left stays until its delete horizon,
     * set by the first pass that sees it so (KIP-534), then goes; other control batches stay. {@code earliestHorizon}
     * gets the earliest horizon of a tombstone or marker kept.
     */
    private static KafkaRecords.CompactionRules compactionRules(Map<Long, ProducerStateManager.ProducerEntry> producers,
            OffsetMap map, CleanedTransactions txns, long nowMs, long deleteRetentionMs, long[] earliestHorizon) {
        return new KafkaRecords.CompactionRules() {
            @Override
            public KafkaRecords.BatchFate batchFate(KafkaRecords.BatchView batch) {
                boolean keepHeader = keepsProducerState(batch);
                if (!batch.control()) {
                    boolean aborted = txns.onDataBatch(batch.producerId(), batch.transactional(), batch.baseOffset(),
                            keepHeader);
                    if (aborted) {
                        return keepHeader ? KafkaRecords.BatchFate.DISCARD_KEEP_HEADER
                                : KafkaRecords.BatchFate.DISCARD;
                    }
                    return keepHeader ? KafkaRecords.BatchFate.FILTER_KEEP_HEADER : KafkaRecords.BatchFate.FILTER;
                }
                boolean noDataLeft = txns.onControlBatch(batch.producerId(), batch.controlType(), batch.lastOffset());
                if (!noDataLeft || keepHeader) {
                    return KafkaRecords.BatchFate.FILTER; // a control batch's records all stay
                }
                if (batch.deleteHorizonMs().isPresent() && nowMs >= batch.deleteHorizonMs().getAsLong()) {
                    return KafkaRecords.BatchFate.DISCARD;
                }
                earliestHorizon[0] = Math.min(earliestHorizon[0],
                        batch.deleteHorizonMs().orElse(nowMs + deleteRetentionMs));
                return KafkaRecords.BatchFate.KEEP_UNTIL_HORIZON;
            }

            private boolean keepsProducerState(KafkaRecords.BatchView batch) {
                ProducerStateManager.ProducerEntry entry = batch.producerId() < 0 ? null
                        : producers.get(batch.producerId());
                if (entry == null) {
                    return false;
                }
                if (entry.batches().isEmpty()) {
                    return batch.control() && batch.producerEpoch() == entry.producerEpoch();
                }
                return !batch.control() && entry.batches().get(entry.batches().size() - 1).lastOffset()
                        == batch.lastOffset();
            }

            @Override
            public boolean isLatest(ByteBuffer key, long offset) {
                return offset >= map.get(key); // -1: not updated since the last clean
            }

            @Override
            public void recordKept() {
                txns.onRecordKept();
            }

            @Override
            public void tombstoneKept(long deleteHorizonMs) {
                earliestHorizon[0] = Math.min(earliestHorizon[0], deleteHorizonMs);
            }
        };
    }

    /**
     * Adds every keyed record of {@code segment} to {@code map}, except those of aborted transactions (KIP-98: an
     * aborted record must never supersede a committed one); false (the segment partly added) once it is full.
     */
    private boolean mapKeys(LogSegment segment, OffsetMap map, CleanedTransactions txns, CleanerThrottle throttle)
            throws IOException, InterruptedException {
        boolean[] full = {false};
        KafkaRecords.KeyVisitor put = (key, offset) -> {
            if (key == null || full[0]) {
                return;
            }
            if (map.isFull() && map.get(key) < 0) {
                full[0] = true;
                return;
            }
            map.put(key, offset);
        };
        forEachChunk(segment, throttle, chunk -> {
            for (int pos = chunk.position(); pos < chunk.limit() && !full[0]; ) {
                RecordBatchHeader header = RecordBatchHeader.parse(chunk, pos);
                int next = pos + header.sizeInBytes();
                if (!header.isControl() && !txns.isAborted(header)) {
                    KafkaRecords.forEachKey(chunk.duplicate().limit(next).position(pos), put);
                }
                pos = next;
            }
        });
        return !full[0];
    }

    /**
     * Kafka's {@code groupSegmentsBySize}: consecutive segments cleaned into one copy, as long as their bytes before
     * cleaning add up to at most {@code maxBytes} ({@code segment.bytes}), their index entries to at most
     * {@code maxIndexEntries} (what one segment's indexes hold) and their offsets stay within the relative offsets of
     * one segment. Segments a first clean left small merge on a later one.
     */
    static List<List<LogSegment>> groupBySize(List<LogSegment> segments, long maxBytes, int maxIndexEntries) {
        List<List<LogSegment>> groups = new ArrayList<>();
        List<LogSegment> group = new ArrayList<>();
        long groupBytes = 0;
        long groupEntries = 0;
        for (LogSegment segment : segments) {
            if (!group.isEmpty() && (groupBytes + segment.size() > maxBytes
                    || groupEntries + segment.indexEntries() > maxIndexEntries
                    || segment.nextOffset() - 1 - group.get(0).baseOffset() > Integer.MAX_VALUE)) {
                groups.add(group);
                group = new ArrayList<>();
                groupBytes = 0;
                groupEntries = 0;
            }
            group.add(segment);
            groupBytes += segment.size();
            groupEntries += segment.indexEntries();
        }
        if (!group.isEmpty()) {
            groups.add(group);
        }
        return groups;
    }

    /**
     * Writes the compacted copy of {@code group} (consecutive segments) as one segment at the first one's base offset,
     * with its indexes, into {@code cleaning}; fsynced.
     */
    private LogSegment cleanedCopy(List<LogSegment> group, Path cleaning, KafkaRecords.CompactionRules rules,
            long nowMs, long deleteRetentionMs, CleanerThrottle throttle) throws IOException, InterruptedException {
        LogConfig cfg = config;
        LogSegment copy = LogSegment.create(cleaning, group.get(0).baseOffset(), cfg.segmentIndexBytes());
        try {
            for (LogSegment segment : group) {
                forEachChunk(segment, throttle, chunk -> {
                    ByteBuffer kept = KafkaRecords.compact(chunk, rules, nowMs, deleteRetentionMs,
                            Math.max(cfg.maxMessageBytes(), chunk.remaining()));
                    if (!kept.hasRemaining()) {
                        return;
                    }
                    List<RecordBatchHeader> headers = new ArrayList<>();
                    for (int pos = kept.position(); pos < kept.limit(); ) {
                        RecordBatchHeader header = RecordBatchHeader.parse(kept, pos);
                        headers.add(header);
                        pos += header.sizeInBytes();
                    }
                    int written = kept.remaining();
                    copy.append(kept, headers, cfg.indexIntervalBytes(), nowMs);
                    throttle.acquire(written);
                });
            }
            copy.markInactive();
            copy.flush();
            return copy;
        } catch (IOException | InterruptedException | RuntimeException e) {
            copy.closeAndDelete();
            throw e;
        }
    }

    private interface ChunkVisitor {
        void visit(ByteBuffer chunk) throws IOException, InterruptedException;
    }

    /** What {@link #readLocked} runs: I/O only, never a throttle (it must not block under the read lock). */
    private interface LockedRead {
        void read(ByteBuffer chunk) throws IOException;
    }

    /** A segment that a clean is reading went (truncation, retention, close): the clean stops, nothing swapped. */
    private static final class SegmentGone extends RuntimeException {
        SegmentGone(long base) {
            super("segment " + base + " went during the clean", null, false, false);
        }
    }

    /** Under the read lock (no truncation or deletion meanwhile): fails with SegmentGone if the segment went. */
    private void readLocked(LogSegment segment, LockedRead body, ByteBuffer chunk) throws IOException {
        readersLock.readLock().lock();
        try {
            if (closed || segments.get(segment.baseOffset()) != segment) {
                throw new SegmentGone(segment.baseOffset());
            }
            body.read(chunk);
        } finally {
            readersLock.readLock().unlock();
        }
    }

    /**
     * Hands {@code segment}'s batches to {@code visitor} in chunks of whole batches of about 1 MiB; each chunk's size
     * goes to {@code throttle} once it is read (outside the lock), before the visitor sees it.
     */
    private void forEachChunk(LogSegment segment, CleanerThrottle throttle, ChunkVisitor visitor)
            throws IOException, InterruptedException {
        List<int[]> ranges = new ArrayList<>();
        int[] current = {-1, 0};
        readLocked(segment, ignored -> segment.forEachBatch((header, position) -> {
            if (current[0] >= 0 && current[1] + header.sizeInBytes() > CLEAN_CHUNK_BYTES) {
                ranges.add(current.clone());
                current[0] = -1;
            }
            if (current[0] < 0) {
                current[0] = position;
                current[1] = 0;
            }
            current[1] += header.sizeInBytes();
        }), null);
        if (current[0] >= 0) {
            ranges.add(current.clone());
        }
        for (int[] range : ranges) {
            ByteBuffer chunk = ByteBuffer.allocate(range[1]);
            readLocked(segment, c -> segment.read(c, range[0]), chunk);
            throttle.acquire(range[1]);
            visitor.visit(chunk.flip());
        }
    }

    /**
     * Replaces the segments of {@code group} by their cleaned copy in {@code cleaning} (one segment at the first one's
     * base offset, with its indexes and its aborted-transaction index), unless one of them changed since the clean
     * began (then false, nothing replaced). Steps, each durable (directory fsync) before the next:
     * <ol>
     *   <li>the copy's transaction index is moved to {@code <base>.txnindex.<end>.swap} ({@code end}: the group's next
     *       offset);</li>
     *   <li>the copy is renamed to {@code <base>.log.<end>.swap}: from here the new set is committed;</li>
     *   <li>the old segments are deleted with all their index files;</li>
     *   <li>the copy's offset and time indexes are moved in, and its transaction index (or, empty, deleted);</li>
     *   <li>the swap is renamed to {@code <base>.log}.</li>
     * </ol>
     * After a crash anywhere, {@link LogLoader} finds the old set (before step 2: it deletes the transaction index
     * swap) or completes the new one, deleting every segment left with a base offset in {@code [base, end)} whatever
     * order the file system kept the deletions in, and taking the transaction index from its swap or, if that is
     * gone, from {@code <base>.txnindex} (step 4 was durable). Producer snapshots whose fingerprint batch was in the
     * group go.
     */
    private boolean swapIn(List<LogSegment> group, Path cleaning, long truncationsAtPlan) throws IOException {
        long base = group.get(0).baseOffset();
        String logName = LogSegment.fileName(base, LogSegment.LOG_SUFFIX);
        appendLock.lock();
        try {
            ensureOpen();
            if (truncations != truncationsAtPlan) {
                LOG.info("Not compacting dir={} segment={}: the log was truncated during the clean", dir, base);
                return false;
            }
            for (LogSegment segment : group) {
                if (segments.get(segment.baseOffset()) != segment || segments.lastEntry().getValue() == segment) {
                    LOG.info("Not compacting dir={} segment={}: it changed during the clean", dir,
                            segment.baseOffset());
                    return false;
                }
            }
            readersLock.writeLock().lock();
            try {
                long oldNextOffset = group.get(group.size() - 1).nextOffset();
                Path swap = dir.resolve(swapFileName(base, oldNextOffset));
                String txnIndexName = LogSegment.fileName(base, TransactionIndex.SUFFIX);
                Path txnIndexSwap = dir.resolve(txnIndexSwapFileName(base, oldNextOffset));
                // The new transaction index is on disk before the swap that commits it: a swap found without its
                // transaction index swap always had it moved in already.
                Files.move(cleaning.resolve(txnIndexName), txnIndexSwap, StandardCopyOption.ATOMIC_MOVE);
                DiskIo.fsyncDirectory(dir);
                swapSteps.reached("txnindex-swap");
                try {
                    Files.move(cleaning.resolve(logName), swap, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Files.deleteIfExists(txnIndexSwap); // nothing committed: the old set stays, with its indexes
                    throw e;
                }
                try {
                    DiskIo.fsyncDirectory(dir);
                    swapSteps.reached("log-swap");
                    for (LogSegment segment : group) {
                        segment.closeAndDelete();
                    }
                    // Every old segment is gone on disk before the swap loses its name: a crash from here on can never
                    // leave an old segment beside the merged one (the loader completes a swap, it cannot undo a rename).
                    DiskIo.fsyncDirectory(dir);
                    swapSteps.reached("old-segments-deleted");
                    for (String suffix : List.of(LogSegment.INDEX_SUFFIX, LogSegment.TIME_INDEX_SUFFIX)) {
                        String name = LogSegment.fileName(base, suffix);
                        Files.move(cleaning.resolve(name), dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
                    }
                    if (Files.size(txnIndexSwap) == 0) {
                        Files.delete(txnIndexSwap);
                    } else {
                        Files.move(txnIndexSwap, dir.resolve(txnIndexName), StandardCopyOption.ATOMIC_MOVE);
                    }
                    // In place before the swap loses its name (else the loader would take the swap as uncommitted)
                    DiskIo.fsyncDirectory(dir);
                    swapSteps.reached("indexes-moved");
                    Files.move(swap, dir.resolve(logName), StandardCopyOption.ATOMIC_MOVE);
                    snapshots.deleteBetween(base, oldNextOffset);
                    DiskIo.fsyncDirectory(dir);
                    swapSteps.reached("done");
                    LogSegment replacement = LogSegment.open(dir, base, config.segmentIndexBytes());
                    if (!replacement.loadTrusted()) {
                        replacement.recover(config.indexIntervalBytes());
                        replacement.flush();
                    }
                    for (LogSegment segment : group) {
                        segments.remove(segment.baseOffset());
                    }
                    segments.put(base, replacement);
                    if (currentSnapshotOffset > base && currentSnapshotOffset <= oldNextOffset) {
                        currentSnapshotOffset = -1;
                    }
                } catch (IOException | RuntimeException e) {
                    // Half swapped: the segments in memory may be gone on disk. Nothing more is served from this log
                    // until a restart, whose loader completes the swap from the files; a broker halts for that.
                    if (e instanceof IOException io) {
                        diskFailure(io);
                    }
                    closed = true;
                    LOG.error("Compaction swap of dir={} segments [{}, {}) failed half way; the log is closed until the "
                            + "node restarts", dir, base, oldNextOffset, e);
                    throw e;
                }
                return true;
            } finally {
                readersLock.writeLock().unlock();
            }
        } finally {
            appendLock.unlock();
        }
    }

    /** The oldest closed segments that retention removes: a prefix of the segments, never the active one. */
    private List<LogSegment> retainedSegmentsToDelete(LogConfig cfg, long nowMs) {
        List<LogSegment> all = new ArrayList<>(segments.values());
        List<LogSegment> closedSegments = all.subList(0, all.size() - 1);
        int count = 0;
        if (cfg.retentionMs() >= 0) {
            while (count < closedSegments.size()
                    && closedSegments.get(count).maxTimestamp() < nowMs - cfg.retentionMs()) {
                count++;
            }
        }
        if (cfg.retentionBytes() >= 0) {
            long excess = sizeInBytes() - cfg.retentionBytes();
            for (int i = 0; i < count; i++) {
                excess -= closedSegments.get(i).size();
            }
            while (count < closedSegments.size() && excess - closedSegments.get(count).size() >= 0) {
                excess -= closedSegments.get(count).size();
                count++;
            }
        }
        return new ArrayList<>(closedSegments.subList(0, count));
    }

    /**
     * Forgets the idempotent producers whose last batch timestamp is at least {@code expirationMs} before the clock
     * (Kafka's {@code producer.id.expiration.ms}, see {@link ProducerStateManager#expire}); this bounds the producer
     * state. The next snapshot (roll or close) no longer holds them. Returns how many were removed.
     */
    public int expireProducers(long expirationMs) {
        appendLock.lock();
        try {
            return producerState.expire(clock.millis(), expirationMs);
        } finally {
            appendLock.unlock();
        }
    }

    // ---------------------------------------------------------------- config, stats, lifecycle

    /** Takes effect from the next append or retention run; index sizes apply to new segments. */
    public void updateConfig(LogConfig config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    public LogConfig config() {
        return config;
    }

    /**
     * {@code log.flush.interval.messages}: {@link #maybeFlush} fsyncs once this many messages are above the recovery
     * point; {@link Long#MAX_VALUE} (Kafka's default) never.
     */
    public void setFlushIntervalMessages(long messages) {
        if (messages < 1) {
            throw new IllegalArgumentException("log.flush.interval.messages must be >= 1, got " + messages);
        }
        this.flushIntervalMessages = messages;
    }

    /** Whether an append may fsync on the appending thread ({@code log.flush.interval.messages} is set). */
    public boolean flushesOnAppend() {
        return flushIntervalMessages != Long.MAX_VALUE;
    }

    /**
     * After an append, outside the append lock: {@link #flush} if {@code log.flush.interval.messages} or more
     * messages are not yet fsynced (Kafka's {@code unflushedMessages >= flushInterval}), so that the append is on
     * disk before it is acknowledged. Returns whether it flushed.
     */
    public boolean maybeFlush() throws IOException {
        long interval = flushIntervalMessages;
        if (interval == Long.MAX_VALUE || logEndOffset - recoveryPoint < interval) {
            return false;
        }
        flush();
        return true;
    }

    /**
     * fsyncs every segment from the recovery point to the log end offset it saw at the start, writes their indexes,
     * and moves the recovery point to that offset. The fsyncs run outside the append lock (appends go on meanwhile);
     * the lock is held only to take the end offset, then to write the active segment's indexes and the recovery
     * point. If a truncation came in between, the recovery point stays (the bytes below the old end may be other
     * ones); if the log closed, nothing happens.
     */
    public void flush() throws IOException {
        if (!flushTo(true) && !closed) {
            throw new IOException("Flush of " + dir + " did not complete: the log was truncated during two attempts");
        }
    }

    /**
     * Where the roll flush runs: after a roll, the segments below the new one are fsynced with their indexes, the
     * roll's snapshot and the directory, and the recovery point moves to the new segment's base (Kafka's
     * {@code flush-log} task at roll). By default on the appending thread, once it has released the append lock;
     * a broker gives its log maintenance thread. At most one roll flush per log is queued at a time.
     */
    public void setFlushExecutor(Executor executor) {
        this.flushExecutor = Objects.requireNonNull(executor, "executor");
    }

    /**
     * Who is told when a write, truncation or fsync of this log fails with an {@link IOException} while the log is
     * open: the log's files are then in an unknown state (a write may be partly on disk; after a failed fsync the
     * kernel may have dropped dirty pages that a later fsync would not report), so the log must not be used again.
     * A broker halts (Kafka takes the log directory offline, and halts when it has no other): its replicas elsewhere
     * hold what was acknowledged with acks=all, and the next start recovers this log from its recovery point. Not
     * told of validation errors ({@link LogException}), of an interrupted thread (ClosedByInterruptException: the
     * node is closing) or of anything once the log is closed. By default nobody is told; the exception still reaches
     * the caller.
     */
    public void setDiskFailureHandler(Consumer<IOException> handler) {
        this.diskFailureHandler = Objects.requireNonNull(handler, "handler");
    }

    /**
     * Marks the log failed and reports {@code e} to the disk failure handler, unless the log is closed; an interrupted
     * thread's failure is not reported (the node is closing) but marks the log failed all the same. A failed log
     * flushes nothing more: its recovery point stays, and {@link #close} writes no clean-shutdown marker, so the next
     * open re-validates everything from the recovery point.
     */
    private IOException diskFailure(IOException e) {
        if (!closed) {
            failed = true;
            if (!(e instanceof ClosedByInterruptException) && !Thread.currentThread().isInterrupted()) {
                diskFailureHandler.accept(e);
            }
        }
        return e;
    }

    /** After an append released the append lock: queues the roll flush if a roll left one to do. */
    private void afterAppend() {
        if (rollFlushPending && rollFlushQueued.compareAndSet(false, true)) {
            try {
                flushExecutor.execute(this::rollFlush);
            } catch (RejectedExecutionException shuttingDown) {
                rollFlushQueued.set(false); // close() flushes everything
            }
        }
    }

    private void rollFlush() {
        rollFlushQueued.set(false);
        rollFlushPending = false; // a roll from here on queues another
        try {
            if (!flushTo(false) && !closed) {
                rollFlushPending = true; // segments changed under it twice: the next append queues it again
            }
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                LOG.warn("Roll flush failed dir={}: the recovery point stays at {}, the segments from there are "
                        + "checked batch by batch if the node stops uncleanly", dir, recoveryPoint, e);
            }
        }
    }

    /**
     * One flush: to the log end offset with the active segment ({@code withActive}), or to the active segment's base
     * (the roll flush). An inactive segment closed between the phases (deleted by retention, or replaced by
     * compaction, whose copies are durable before they are swapped in) is skipped. A truncation in between (the
     * active segment deleted, or the truncation counter moved) leaves the recovery point where it was, and the flush
     * is planned again once. False if the second attempt failed too.
     */
    private boolean flushTo(boolean withActive) throws IOException {
        flushLock.lock();
        try {
            if (failed && !closed) {
                throw new IOException("The log in " + dir + " failed a write, truncation or fsync before: nothing more "
                        + "is flushed, its recovery point stays");
            }
            for (int attempt = 0; attempt < 2; attempt++) {
                FlushPlan plan = planFlush(withActive);
                if (plan == null) {
                    return true;
                }
                try {
                    if (forceFiles(plan) && writeIndexes(plan)) {
                        if (plan.syncDirectory()) {
                            DiskIo.fsyncDirectory(dir); // the rolls' new files, the snapshots, the index renames
                        }
                        if (completeFlush(plan)) {
                            return true;
                        }
                    }
                } catch (IOException e) {
                    throw diskFailure(e);
                }
                if (closed) {
                    return true; // close flushed everything
                }
            }
            return false;
        } finally {
            flushLock.unlock();
        }
    }

    /**
     * What one flush makes durable: the segments that may hold bytes at or above the recovery point ({@code inactive}
     * ones, and the {@code active} one or null), the snapshots written since, and the offset the recovery point moves
     * to.
     */
    record FlushPlan(List<LogSegment> inactive, LogSegment active, List<Path> snapshotFiles, long end,
                     long truncations, long dirChanges, boolean syncDirectory) {}

    /** Flush phase 1, under the append lock: what to make durable; null if the log is closed or nothing is due. */
    FlushPlan planFlush(boolean withActive) {
        appendLock.lock();
        try {
            if (closed) {
                return null;
            }
            LogSegment active = segments.lastEntry().getValue();
            Long from = segments.floorKey(recoveryPoint);
            List<LogSegment> inactive = new ArrayList<>(
                    segments.subMap(from == null ? segments.firstKey() : from, true, active.baseOffset(), false)
                            .values());
            long end = withActive ? logEndOffset : active.baseOffset();
            // A roll's snapshot may sit at the recovery point itself (a flush reached the roll's offset first)
            List<Path> snapshotFiles = snapshots.filesBetween(recoveryPoint - 1, end);
            boolean syncDirectory = dirChanges != dirSyncedChanges || !inactive.isEmpty() || !snapshotFiles.isEmpty();
            if (!withActive && !syncDirectory) {
                return null; // a flush since the roll did it
            }
            return new FlushPlan(inactive, withActive ? active : null, snapshotFiles, end, truncations, dirChanges,
                    syncDirectory);
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * Flush phase 2, without the lock: the fsyncs of the log files (the slow part, while appends, reads and follower
     * fetches go on) and of the snapshots. Every batch below the plan's end was written to these files before phase
     * 1. An inactive segment closed meanwhile is skipped; false if the active one was (a full truncation or the log's
     * close). After phase 3, the directory is fsynced if the plan says so (its rolls' new files, the snapshots, the
     * index renames).
     */
    boolean forceFiles(FlushPlan plan) throws IOException {
        for (LogSegment segment : plan.inactive()) {
            try {
                segment.forceLog();
            } catch (ClosedByInterruptException interrupted) {
                throw interrupted;
            } catch (ClosedChannelException gone) {
                // deleted by retention or replaced by compaction: nothing of it to make durable
            }
        }
        if (plan.active() != null) {
            try {
                plan.active().forceLog();
            } catch (ClosedByInterruptException interrupted) {
                throw interrupted;
            } catch (ClosedChannelException gone) {
                return false; // a full truncation or the log's close
            }
        }
        ProducerSnapshots.force(plan.snapshotFiles());
        return true;
    }

    /**
     * Flush phase 3, under the exclusive lock's read side (reads go on, appends too): the indexes of the inactive
     * segments. Nothing changes an inactive segment's indexes without the exclusive lock (truncation, compaction's
     * swap, deletion and close take it), so they are written whole here; a segment no longer in the log (retention,
     * compaction) is skipped. False if a truncation came after the plan (a segment may be the active one again) or
     * the log closed; those whose indexes were written before are still whole and consistent.
     */
    boolean writeIndexes(FlushPlan plan) throws IOException {
        if (plan.inactive().isEmpty()) {
            return true;
        }
        readersLock.readLock().lock();
        try {
            if (closed || truncations != plan.truncations()) {
                return false;
            }
            for (LogSegment segment : plan.inactive()) {
                if (segments.get(segment.baseOffset()) == segment) {
                    segment.flushIndexes();
                }
            }
            return true;
        } finally {
            readersLock.readLock().unlock();
        }
    }

    /**
     * Flush phase 4, under the append lock again: the active segment's indexes, then the recovery point, unless a
     * truncation came in between (the bytes below the plan's end may then be other, unforced ones) or the log closed
     * (then false).
     */
    boolean completeFlush(FlushPlan plan) throws IOException {
        appendLock.lock();
        try {
            if (closed || truncations != plan.truncations()) {
                return false;
            }
            // Also if it rolled since the plan: the recovery point moves past it now, so no later flush covers it.
            // Its indexes change only under the exclusive lock once inactive, and truncation is excluded above.
            if (plan.active() != null && segments.get(plan.active().baseOffset()) == plan.active()) {
                plan.active().flushIndexes();
            }
            if (plan.syncDirectory()) {
                dirSyncedChanges = Math.max(dirSyncedChanges, plan.dirChanges());
            }
            if (plan.end() > recoveryPoint) {
                recoveryPoint = plan.end();
                Checkpoint.write(dir.resolve(RECOVERY_POINT_FILE), recoveryPoint);
            }
            return true;
        } finally {
            appendLock.unlock();
        }
    }

    /** Everything below this offset is fsynced with its segment's indexes (what an unclean open trusts). */
    public long recoveryPoint() {
        appendLock.lock();
        try {
            return recoveryPoint;
        } finally {
            appendLock.unlock();
        }
    }

    /** fsyncs every segment from the recovery point with its indexes, and the snapshots since. Both locks held. */
    private void flushLocked() throws IOException {
        Long from = segments.floorKey(recoveryPoint);
        for (LogSegment segment : segments.tailMap(from == null ? segments.firstKey() : from, true).values()) {
            segment.flush();
        }
        ProducerSnapshots.force(snapshots.filesBetween(recoveryPoint - 1, logEndOffset));
        DiskIo.fsyncDirectory(dir);
        dirSyncedChanges = dirChanges;
        if (recoveryPoint != logEndOffset) {
            recoveryPoint = logEndOffset;
            Checkpoint.write(dir.resolve(RECOVERY_POINT_FILE), recoveryPoint);
        }
    }

    /** Total bytes of all segment files. */
    public long sizeInBytes() {
        long total = 0;
        for (LogSegment segment : segments.values()) {
            total += segment.size();
        }
        return total;
    }

    /** Heap held by the offset and time indexes of every segment. */
    public long indexHeapBytes() {
        long total = 0;
        for (LogSegment segment : segments.values()) {
            total += segment.indexHeapBytes();
        }
        return total;
    }

    /** The base offsets of the segments, ascending (the last is the active one). */
    public List<Long> segmentBaseOffsets() {
        return List.copyOf(segments.keySet());
    }

    public int numberOfSegments() {
        return segments.size();
    }

    public ProducerStateManager producerState() {
        return producerState;
    }

    /** Batch headers the open of this log read for producer state and leader epochs. */
    long headersReadAtOpen() {
        return headersReadAtOpen;
    }

    public Path dir() {
        return dir;
    }

    /**
     * Flushes, writes a producer snapshot at the log end offset (so that the next open replays no batch header)
     * unless the one there already holds the current state, closes every file and writes the clean-shutdown marker.
     * Idempotent.
     */
    @Override
    public void close() throws IOException {
        appendLock.lock();
        try {
            if (closed) {
                return;
            }
            readersLock.writeLock().lock();
            try {
                if (failed) {
                    closeFailed();
                    return;
                }
                try {
                    flushLocked();
                    boolean current = currentSnapshotOffset == logEndOffset && snapshots.contains(logEndOffset)
                            && currentSnapshotChanges == producerState.changes();
                    if (!current && logEndOffset > logStartOffset) {
                        takeSnapshot(logEndOffset, true);
                        snapshots.retain(segments.navigableKeySet(), logStartOffset, recoveryPoint);
                    }
                    Checkpoint.write(dir.resolve(LOG_START_OFFSET_FILE), logStartOffset);
                    for (LogSegment segment : segments.values()) {
                        segment.close();
                    }
                } catch (IOException e) {
                    // Closed all the same (a log left open after a failed close could still flush into a directory
                    // a new incarnation of the topic took over), unclean, and reported like any other failure
                    diskFailure(e);
                    closeFailed();
                    throw e;
                }
                closed = true;
                Files.write(dir.resolve(CLEAN_SHUTDOWN_FILE), new byte[0]);
                DiskIo.fsyncDirectory(dir);
            } finally {
                readersLock.writeLock().unlock();
            }
        } finally {
            appendLock.unlock();
        }
    }

    /**
     * Closes the files of a log that failed a write, truncation or fsync: nothing is flushed or written (an fsync
     * that succeeds now proves nothing about the pages a failed one lost), and no clean-shutdown marker, so the next
     * open recovers the log from its recovery point. Both locks held.
     */
    private void closeFailed() {
        closed = true;
        for (LogSegment segment : segments.values()) {
            try {
                segment.close();
            } catch (IOException | RuntimeException e) {
                LOG.debug("Closing a segment of the failed log dir={}", dir, e);
            }
        }
        LOG.warn("Closed the failed log dir={} without flushing it or marking a clean shutdown: the next open "
                + "recovers it from its recovery point {}", dir, recoveryPoint);
    }

    /** Deletes a partition directory that is not open (no log is loaded, so none is recovered just to go). */
    public static void deleteDirectory(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
        LOG.info("Deleted partition log dir={}", dir);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("Partition log " + dir + " is closed");
        }
    }

    @Override
    public String toString() {
        return "PartitionLog(" + dir.getFileName() + ", logStartOffset=" + logStartOffset + ", logEndOffset="
                + logEndOffset + ", segments=" + segments.size() + ")";
    }
}
