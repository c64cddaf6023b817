package io.tributary.storage;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the segments of a partition directory, recovering after an unclean stop ({@link #load}), then restores
 * the idempotent-producer state and the leader epoch cache from the newest producer snapshot and the batch headers
 * after it ({@link #restoreState}). Called once, by {@link PartitionLog#open}, on the opening thread, before the log
 * is shared; {@link #forEachBatchFrom} also serves truncation, under the log's append lock.
 *
 * <p>After a clean shutdown every segment is trusted (indexes loaded, only the batches after the last index entry
 * re-checked). Otherwise every segment that contains or follows the recovery point, and always the last one, is
 * walked batch by batch (lengths, magic, CRC, increasing offsets); at the first bad batch the file is truncated
 * and all later segments are deleted; indexes of walked segments are rebuilt. A trusted segment whose index files
 * are missing or inconsistent is walked the same way.
 */
final class LogLoader {
    private static final Logger LOG = LoggerFactory.getLogger(LogLoader.class);

    private LogLoader() {
    }

    /** The loaded segments by base offset; never empty. */
    static NavigableMap<Long, LogSegment> load(Path dir, LogConfig config, boolean cleanShutdown, long recoveryPoint,
                                               long logStartOffsetCheckpoint) throws IOException {
        deleteTemporaryFiles(dir);
        finishCompaction(dir);
        List<Long> baseOffsets = segmentBaseOffsets(dir);
        NavigableMap<Long, LogSegment> segments = new TreeMap<>();
        try {
            loadSegments(dir, config, cleanShutdown, recoveryPoint, baseOffsets, segments);
            if (segments.isEmpty()) {
                long base = Math.max(0, logStartOffsetCheckpoint);
                // PartitionLog.open fsyncs the directory once it is loaded.
                segments.put(base, LogSegment.create(dir, base, config.segmentIndexBytes()));
            }
        } catch (IOException | RuntimeException e) {
            for (LogSegment segment : segments.values()) {
                try {
                    segment.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return segments;
    }

    private static void loadSegments(Path dir, LogConfig config, boolean cleanShutdown, long recoveryPoint,
                                     List<Long> baseOffsets, NavigableMap<Long, LogSegment> segments)
            throws IOException {
        for (int i = 0; i < baseOffsets.size(); i++) {
            long base = baseOffsets.get(i);
            boolean last = i == baseOffsets.size() - 1;
            long nextBase = last ? Long.MAX_VALUE : baseOffsets.get(i + 1);
            LogSegment segment = LogSegment.open(dir, base, config.segmentIndexBytes());
            boolean mustRecover = !cleanShutdown && (last || nextBase > recoveryPoint);
            if (!mustRecover && segment.loadTrusted()) {
                segments.put(base, segment);
                continue;
            }
            if (!mustRecover) {
                LOG.info("Rebuilding indexes of segment dir={} baseOffset={}: index files missing or inconsistent",
                        dir, base);
            }
            long truncated = segment.recover(config.indexIntervalBytes());
            segment.flush();
            segments.put(base, segment);
            if (truncated > 0) {
                List<Long> later = baseOffsets.subList(i + 1, baseOffsets.size());
                LOG.warn("Truncated torn or corrupt log tail dir={} segment={} truncatedBytes={} validBytes={} "
                        + "nextOffset={} deletedLaterSegments={}", dir, base, truncated, segment.size(),
                        segment.nextOffset(), later.size());
                for (long laterBase : later) {
                    LogSegment.open(dir, laterBase, config.segmentIndexBytes()).closeAndDelete();
                }
                DiskIo.fsyncDirectory(dir);
                break;
            }
        }
    }

    /**
     * What {@link #restoreState} produced besides the producer state.
     *
     * @param snapshotOffset the offset of the snapshot the state started from, or -1 (every header was replayed)
     * @param headersRead    batch headers read, for producer state and leader epochs together
     */
    record RestoredState(LeaderEpochCache epochCache, long snapshotOffset, long headersRead) {
    }

    /**
     * Restores {@code producers} and the leader epoch cache of loaded segments, as Kafka's loader does: snapshots
     * outside [log start offset, log end offset] are deleted (those above refer to a tail that recovery or a
     * truncation removed); the producer state is the newest readable snapshot at or below the log end offset and
     * {@code maxSnapshotOffset} (after an unclean stop the recovery point: what a flush made durable with the
     * segments below it) plus a replay of the batch headers after it, or a replay of every header if there is none.
     * The leader epoch checkpoint is used if it agrees with the snapshot's epoch entries continued by those headers;
     * if it is missing, garbled or disagrees, or there is no snapshot, the cache is rebuilt from every batch header (a
     * second walk when there was a snapshot; rare: a crash that lost the checkpoint, or a log written before
     * snapshots existed).
     * Below {@code compactedBelow} (the cleaner checkpoint) compaction may have removed whole batches, and with them
     * the first batch of an epoch: there the checkpoint's entries are kept ({@link LeaderEpochCache#recover}).
     */
    static RestoredState restoreState(Path dir, NavigableMap<Long, LogSegment> segments, ProducerSnapshots snapshots,
                                      ProducerStateManager producers, long logStartOffset, long logEndOffset,
                                      long maxSnapshotOffset, long compactedBelow) throws IOException {
        Optional<ProducerSnapshots.Snapshot> snapshot;
        try {
            snapshots.deleteBelow(logStartOffset);
            snapshots.deleteAbove(logEndOffset);
            snapshot = latestMatchingSnapshot(dir, segments, snapshots,
                    Math.min(logEndOffset, maxSnapshotOffset));
        } catch (IOException | RuntimeException e) {
            // A snapshot only saves work: no problem with one may keep the replica offline.
            LOG.warn("Producer snapshots unusable dir={}: the producer state is replayed from the log", dir, e);
            snapshot = Optional.empty();
        }
        snapshot.ifPresent(s -> producers.load(s.producers()));
        LeaderEpochCache.Rebuilder epochs = new LeaderEpochCache.Rebuilder(
                snapshot.map(ProducerSnapshots.Snapshot::epochs).orElse(List.of()));
        long from = snapshot.map(ProducerSnapshots.Snapshot::offset).orElse(segments.firstKey());
        Map<Long, List<AbortedTxn>> aborted = new TreeMap<>();
        long headersRead = replayProducers(segments, from, producers, aborted, epochs::accept);
        rebuildTxnIndexes(segments, from, aborted);
        producers.truncateHead(logStartOffset);
        long snapshotOffset = snapshot.isPresent() ? from : -1;
        Path checkpoint = dir.resolve(LeaderEpochCache.FILE_NAME);
        Optional<LeaderEpochCache> trusted = snapshot.isEmpty() ? Optional.empty()
                : LeaderEpochCache.openIfAgrees(checkpoint, epochs.entries(), logStartOffset, logEndOffset);
        if (trusted.isPresent()) {
            return new RestoredState(trusted.get(), snapshotOffset, headersRead);
        }
        List<EpochEntry> fromHeaders = epochs.entries();
        if (snapshot.isPresent()) {
            LeaderEpochCache.Rebuilder all = new LeaderEpochCache.Rebuilder();
            headersRead += forEachBatchFrom(segments, segments.firstKey(), (header, position) -> all.accept(header));
            fromHeaders = all.entries();
        }
        LeaderEpochCache cache = LeaderEpochCache.recover(checkpoint, fromHeaders, logStartOffset, logEndOffset,
                compactedBelow);
        return new RestoredState(cache, snapshotOffset, headersRead);
    }

    /**
     * The newest readable snapshot at or below {@code maxOffset} whose fingerprint matches the log: the batch that
     * ends just below its offset has the base offset, last offset, partition leader epoch and CRC the snapshot
     * recorded (or, for a snapshot without one, no batch precedes its offset). A snapshot that does not match was
     * taken from another log below its offset (see {@link ProducerSnapshots}); it and every snapshot above it are
     * deleted with a WARN (snapshot files only, never log data) and an older one is tried. Empty if none matches:
     * the caller replays the log from its start.
     */
    static Optional<ProducerSnapshots.Snapshot> latestMatchingSnapshot(
            Path dir, NavigableMap<Long, LogSegment> segments, ProducerSnapshots snapshots, long maxOffset)
            throws IOException {
        long max = maxOffset;
        while (true) {
            Optional<ProducerSnapshots.Snapshot> snapshot = snapshots.latestAtOrBelow(max);
            if (snapshot.isEmpty()) {
                return snapshot;
            }
            ProducerSnapshots.Snapshot s = snapshot.get();
            RecordBatchHeader inLog = batchEndingBelow(segments, s.offset());
            boolean matches = s.lastBatch() == null ? inLog == null : inLog != null && s.lastBatch().matches(inLog);
            if (matches) {
                return snapshot;
            }
            LOG.warn("Deleting a producer snapshot that does not match the log below it, and every snapshot above it "
                    + "dir={} snapshotOffset={} snapshotLastBatch={} logBatch={}", dir, s.offset(), s.lastBatch(),
                    inLog == null ? "none" : ProducerSnapshots.BatchFingerprint.of(inLog));
            snapshots.deleteFrom(s.offset());
            max = s.offset() - 1;
        }
    }

    /**
     * The header of the batch that holds {@code offset - 1}, or null if the log has none. One offset index lookup
     * in the segment that would hold it, then a scan of at most about {@code index.interval.bytes}; the batch found
     * may start after {@code offset - 1} if no batch holds it (then it differs from any fingerprint at that offset).
     */
    static RecordBatchHeader batchEndingBelow(NavigableMap<Long, LogSegment> segments, long offset)
            throws IOException {
        var entry = segments.floorEntry(offset - 1);
        if (entry == null) {
            return null;
        }
        LogSegment segment = entry.getValue();
        int position = segment.findBatchPosition(offset - 1, segment.size());
        return position < 0 ? null : segment.readHeader(position);
    }

    /**
     * Replays into {@code producers} every batch from {@code offset} (markers end transactions; their type is read
     * from the control batch), also handing each header to {@code alsoVisit}. The transactions an ABORT marker ends go
     * to {@code aborted}, by the base offset of the segment holding the marker. Returns the headers read.
     */
    static long replayProducers(NavigableMap<Long, LogSegment> segments, long offset, ProducerStateManager producers,
            Map<Long, List<AbortedTxn>> aborted, java.util.function.Consumer<RecordBatchHeader> alsoVisit)
            throws IOException {
        long[] visited = {0};
        Long floor = segments.floorKey(offset);
        for (LogSegment segment : segments.tailMap(floor == null ? offset : floor, true).values()) {
            int position = segment.baseOffset() >= offset ? 0 : segment.findBatchPosition(offset, segment.size());
            if (position >= 0) {
                segment.forEachBatchFrom(position, (header, pos) -> {
                    visited[0]++;
                    TxnMarkers.Marker marker = segment.marker(header, pos);
                    producers.replay(header, marker).filter(ProducerStateManager.CompletedTxn::aborted)
                            .ifPresent(txn -> aborted.computeIfAbsent(segment.baseOffset(), b -> new ArrayList<>())
                                    .add(new AbortedTxn(txn.producerId(), txn.firstOffset(), txn.lastOffset(),
                                            producers.firstUnstableOffset().orElse(txn.lastOffset() + 1))));
                    alsoVisit.accept(header);
                });
            }
        }
        return visited[0];
    }

    /**
     * Makes the aborted-transaction indexes from {@code offset} on say what a replay from there found
     * ({@code aborted}, by segment): entries of markers below {@code offset} stay, the others are replaced. The index
     * is derived from the log, so a crash that lost part of it (or a torn entry) is repaired here.
     */
    private static void rebuildTxnIndexes(NavigableMap<Long, LogSegment> segments, long offset,
            Map<Long, List<AbortedTxn>> aborted) throws IOException {
        Long floor = segments.floorKey(offset);
        for (LogSegment segment : segments.tailMap(floor == null ? offset : floor, true).values()) {
            List<AbortedTxn> current = segment.abortedTxns(Long.MIN_VALUE, Long.MAX_VALUE);
            List<AbortedTxn> expected = new ArrayList<>();
            for (AbortedTxn txn : current) {
                if (txn.lastOffset() < offset) {
                    expected.add(txn);
                }
            }
            expected.addAll(aborted.getOrDefault(segment.baseOffset(), List.of()));
            if (!expected.equals(current)) {
                LOG.info("Rebuilt the aborted transaction index dir={} segment={} entries={}->{}",
                        segment.txnIndexFileDir(), segment.baseOffset(), current.size(), expected.size());
                segment.txnIndex().replace(expected);
            }
        }
    }

    /**
     * Visits, in log order and without CRC checks (the segments are loaded), the batch headers from {@code offset},
     * which must be a batch boundary (a snapshot's offset is), to the log end.
     *
     * @return how many headers were visited
     */
    static long forEachBatchFrom(NavigableMap<Long, LogSegment> segments, long offset, BatchScanner.Visitor visitor)
            throws IOException {
        long[] visited = {0};
        BatchScanner.Visitor counting = (header, position) -> {
            visited[0]++;
            visitor.visit(header, position);
        };
        Long floor = segments.floorKey(offset);
        for (LogSegment segment : segments.tailMap(floor == null ? offset : floor, true).values()) {
            int position = segment.baseOffset() >= offset ? 0 : segment.findBatchPosition(offset, segment.size());
            if (position >= 0) {
                segment.forEachBatchFrom(position, counting);
            }
        }
        return visited[0];
    }

    /** Base offsets of the {@code <20 digits>.log} files in {@code dir}, ascending. */
    private static List<Long> segmentBaseOffsets(Path dir) throws IOException {
        List<Long> bases = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + LogSegment.LOG_SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String stem = name.substring(0, name.length() - LogSegment.LOG_SUFFIX.length());
                if (stem.length() == 20 && stem.chars().allMatch(Character::isDigit)) {
                    bases.add(Long.parseLong(stem));
                }
            }
        }
        bases.sort(null);
        return bases;
    }

    /**
     * Completes or drops a compaction that a crash interrupted ({@link PartitionLog#clean}): cleaned copies not swapped
     * in yet are deleted; a {@code <base>.log.<end>.swap} replaces every segment with a base offset in
     * {@code [base, end)} (the group it was cleaned from; an older {@code <base>.log.swap} the one at {@code base}),
     * and their index files are deleted, so that the new segment's offset and time indexes are rebuilt from it. Its
     * aborted-transaction index is its {@code <base>.txnindex.<end>.swap} if that is still there (moved in, or deleted
     * if empty); if not, the swap had moved it to {@code <base>.txnindex} already, after deleting the old segments'
     * (see {@link PartitionLog#txnIndexSwapFileName}). A transaction index swap without its log swap belongs to a clean
     * that never committed: deleted. Nothing else is deleted.
     */
    private static void finishCompaction(Path dir) throws IOException {
        DiskIo.deleteTree(dir.resolve(PartitionLog.CLEANER_DIR));
        List<Path> swaps = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + PartitionLog.SWAP_SUFFIX)) {
            files.forEach(swaps::add);
        }
        List<Path> txnIndexSwaps = new ArrayList<>();
        for (Path swap : swaps) {
            String name = swap.getFileName().toString();
            String[] parts = name.substring(0, name.length() - PartitionLog.SWAP_SUFFIX.length()).split("\\.");
            if (parts.length == 3 && isOffset(parts[0], true) && ("." + parts[1]).equals(TransactionIndex.SUFFIX)
                    && isOffset(parts[2], false)) {
                txnIndexSwaps.add(swap);
                continue;
            }
            // <base>.log or <base>.log.<end>
            if (parts.length < 2 || parts.length > 3 || !isOffset(parts[0], true)
                    || !("." + parts[1]).equals(LogSegment.LOG_SUFFIX)
                    || (parts.length == 3 && !isOffset(parts[2], false))) {
                continue;
            }
            long base = Long.parseLong(parts[0]);
            long end = parts.length == 3 ? Long.parseLong(parts[2]) : base + 1;
            Path txnIndexSwap = parts.length == 3 ? dir.resolve(PartitionLog.txnIndexSwapFileName(base, end)) : null;
            // Without its swap, the base's transaction index is the new one (an older swap never had one: left alone)
            boolean newTxnIndexPending = txnIndexSwap != null && Files.exists(txnIndexSwap);
            for (long replaced : segmentBaseOffsets(dir)) {
                if (replaced >= base && replaced < end) {
                    if (replaced != base) {
                        Files.deleteIfExists(dir.resolve(LogSegment.fileName(replaced, LogSegment.LOG_SUFFIX)));
                    }
                    Files.deleteIfExists(dir.resolve(LogSegment.fileName(replaced, LogSegment.INDEX_SUFFIX)));
                    Files.deleteIfExists(dir.resolve(LogSegment.fileName(replaced, LogSegment.TIME_INDEX_SUFFIX)));
                    if (replaced != base || newTxnIndexPending) {
                        Files.deleteIfExists(dir.resolve(LogSegment.fileName(replaced, TransactionIndex.SUFFIX)));
                    }
                }
            }
            Files.deleteIfExists(dir.resolve(LogSegment.fileName(base, LogSegment.INDEX_SUFFIX)));
            Files.deleteIfExists(dir.resolve(LogSegment.fileName(base, LogSegment.TIME_INDEX_SUFFIX)));
            if (newTxnIndexPending) {
                Files.deleteIfExists(dir.resolve(LogSegment.fileName(base, TransactionIndex.SUFFIX)));
            }
            // The deletions reach the disk before the swaps lose their names (a crash now repeats this, never leaves an
            // old segment or transaction index beside the new ones)
            DiskIo.fsyncDirectory(dir);
            if (newTxnIndexPending) {
                if (Files.size(txnIndexSwap) == 0) {
                    Files.delete(txnIndexSwap);
                } else {
                    Files.move(txnIndexSwap, dir.resolve(LogSegment.fileName(base, TransactionIndex.SUFFIX)),
                            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                }
                DiskIo.fsyncDirectory(dir);
            }
            Files.move(swap, dir.resolve(LogSegment.fileName(base, LogSegment.LOG_SUFFIX)),
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            DiskIo.fsyncDirectory(dir);
            LOG.info("Completed an interrupted compaction swap dir={} segments [{}, {})", dir, base, end);
        }
        boolean orphans = false;
        for (Path txnIndexSwap : txnIndexSwaps) {
            // deleteIfExists: false if a log swap above moved or deleted it
            if (Files.deleteIfExists(txnIndexSwap)) {
                orphans = true;
                LOG.info("Deleted the transaction index of a compaction that never swapped in dir={} file={}", dir,
                        txnIndexSwap.getFileName());
            }
        }
        if (orphans) {
            DiskIo.fsyncDirectory(dir);
        }
    }

    /** A segment base offset as file names write it (20 digits), or any decimal offset. */
    private static boolean isOffset(String text, boolean padded) {
        return (padded ? text.length() == 20 : !text.isEmpty() && text.length() <= 19)
                && text.chars().allMatch(Character::isDigit);
    }

    /** Leftovers of an atomic write interrupted by a crash. */
    private static void deleteTemporaryFiles(Path dir) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + DiskIo.TMP_SUFFIX)) {
            for (Path file : files) {
                Files.deleteIfExists(file);
            }
        }
    }
}
