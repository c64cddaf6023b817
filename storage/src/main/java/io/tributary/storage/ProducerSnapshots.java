package io.tributary.storage;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.NavigableSet;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.zip.CRC32C;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The producer-state snapshots of one partition directory (Kafka's {@code <offset>.snapshot} files): the
 * idempotent-producer state that the batches below an offset give, and the leader epoch entries that start below it,
 * so that {@link PartitionLog#open} and truncation read only the batch headers after that offset instead of every
 * header of every segment.
 *
 * <p>File {@code <20-digit offset>.snapshot}, big-endian (the version and CRC sit where Kafka's do; the rest is our
 * own layout, because we cache five batches per producer where Kafka's file keeps one):
 * <pre>
 *  0 version        int16   {@value #FORMAT_VERSION}: not Kafka's 1, so Kafka's reader refuses the file rather than
 *                           misreading it
 *  2 crc            uint32  CRC-32C of bytes [6, end of file)
 *  6 offset         int64   the offset in the file name: state of every batch below it
 * 14 hasLastBatch   int8    1 if a batch precedes offset in the log (0 at the start of an empty log), then:
 *                             baseOffset int64, lastOffset int64 (offset - 1), partitionLeaderEpoch int32, crc uint32
 *                             of that batch, as its header holds them (the fingerprint of the log below offset)
 *    epochCount     int32   then per leader epoch entry starting below offset, ascending:
 *                             epoch int32, startOffset int64
 *    producerCount  int32   then per producer:
 *                             producerId int64, producerEpoch int16, lastTimestamp int64,
 *                             currentTxnFirstOffset int64 (-1: no ongoing transaction, else below offset),
 *                             coordinatorEpoch int32 (-1: no marker yet), batchCount int8 (0..5),
 *                             then per cached batch, oldest first:
 *                               firstSeq int32, lastSeq int32, firstOffset int64, lastOffset int64
 * </pre>
 * A snapshot is written atomically (temporary file, fsync, rename, directory fsync) on clean close and at the end
 * of an open that replayed headers (at the log end offset), when every batch below it is on disk; at a segment roll
 * (at the new segment's base offset) without the fsyncs, which the log's roll flush does with the segments below
 * it. After an unclean stop, the loader uses none above the recovery point. A file with another version, a bad
 * CRC, or content that does not parse is ignored and deleted (WARN, as Kafka does): the state then comes from an
 * older snapshot or from the log itself. Nothing here ever deletes log data.
 *
 * <p>Why the fingerprint: a snapshot holds only if the log below its offset is the log it was taken from. A snapshot
 * can outlive that log: left by a downgrade to a version that ignores these files and then truncated and rewritten,
 * or after a deletion that a failed directory fsync lost. Used with another log below it, it would restore a
 * producer's sequence that the log does not have and drop a new batch as a duplicate: an acknowledged record lost.
 * {@link LogLoader#latestMatchingSnapshot} compares the fingerprint with the batch header in the log (one index
 * lookup, not a walk) and deletes a snapshot that disagrees, with every one above it.
 *
 * <p>Bound: {@link #retain} keeps the newest snapshot and those at the base offsets of the last
 * {@value #RETAINED_SEGMENT_SNAPSHOTS} segments, so a directory holds at most three; each is about
 * {@value #PRODUCER_BYTES} + 5 x {@value #BATCH_BYTES} bytes per producer id.
 *
 * <p>Threads: used by {@link PartitionLog} under its append lock, or by the opening thread before the log is shared.
 */
final class ProducerSnapshots {
    private static final Logger LOG = LoggerFactory.getLogger(ProducerSnapshots.class);

    static final String SUFFIX = ".snapshot";
    /**
     * 101 added the fingerprint of the batch before the offset, 103 each producer's ongoing transaction and last
     * coordinator epoch; a file of an older version is ignored (full replay).
     */
    static final short FORMAT_VERSION = 103;
    /** Besides the newest snapshot, those at the base offsets of this many last segments are kept. */
    static final int RETAINED_SEGMENT_SNAPSHOTS = 2;
    private static final int CRC_OFFSET = 2;
    private static final int CRC_START = 6;
    private static final int HEADER_BYTES = 19;
    private static final int FINGERPRINT_BYTES = 24;
    private static final int EPOCH_BYTES = 12;
    private static final int PRODUCER_BYTES = 31;
    private static final int BATCH_BYTES = 24;

    /**
     * What identifies the last batch below a snapshot's offset: the fields of its header that a different batch at
     * the same offsets would almost surely not share (the CRC covers its records, producer and sequences).
     */
    record BatchFingerprint(long baseOffset, long lastOffset, int partitionLeaderEpoch, int crc) {
        static BatchFingerprint of(RecordBatchHeader header) {
            return new BatchFingerprint(header.baseOffset(), header.lastOffset(), header.partitionLeaderEpoch(),
                    header.crc());
        }

        boolean matches(RecordBatchHeader header) {
            return equals(of(header));
        }
    }

    /**
     * The content of one snapshot: the state of every batch below {@code offset}.
     *
     * @param lastBatch the fingerprint of the batch ending at {@code offset - 1}; null if no batch precedes
     *                  {@code offset} (the start of an empty log)
     * @param epochs    the leader epoch entries starting below {@code offset}, ascending
     * @param producers every producer's entry, in no particular order
     */
    record Snapshot(long offset, BatchFingerprint lastBatch, List<EpochEntry> epochs,
                    Collection<ProducerStateManager.ProducerEntry> producers) {
        Snapshot {
            epochs = List.copyOf(epochs);
            producers = List.copyOf(producers);
        }
    }

    private final Path dir;
    /** Offsets of the snapshot files in {@link #dir}. */
    private final NavigableSet<Long> offsets;

    private ProducerSnapshots(Path dir, NavigableSet<Long> offsets) {
        this.dir = dir;
        this.offsets = offsets;
    }

    /**
     * The snapshots present in {@code dir} (not read yet). Never fails: a snapshot only saves work, so a name that is
     * not an offset (20 digits above {@code Long.MAX_VALUE}), an entry that is not a regular file (a directory named
     * like a snapshot) or a directory that cannot be listed is skipped with a WARN, and the log replays instead.
     */
    static ProducerSnapshots list(Path dir) {
        NavigableSet<Long> offsets = new TreeSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path file : files) {
                String name = file.getFileName().toString();
                String stem = name.substring(0, name.length() - SUFFIX.length());
                if (stem.length() != 20 || !stem.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    long offset = Long.parseLong(stem);
                    if (Files.isRegularFile(file)) {
                        offsets.add(offset);
                    } else {
                        LOG.warn("Ignoring a producer snapshot name that is not a regular file file={}", file);
                    }
                } catch (NumberFormatException e) {
                    LOG.warn("Ignoring a producer snapshot name that is not an offset file={}", file);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot list the producer snapshots dir={}: the producer state is replayed from the log", dir, e);
        }
        return new ProducerSnapshots(dir, offsets);
    }

    static Path file(Path dir, long offset) {
        return dir.resolve(LogSegment.fileName(offset, SUFFIX));
    }

    /** Offsets of the snapshot files, ascending (a copy). */
    NavigableSet<Long> offsets() {
        return new TreeSet<>(offsets);
    }

    boolean contains(long offset) {
        return offsets.contains(offset);
    }

    /**
     * Writes {@code snapshot} atomically (temporary file, rename), and with {@code force} durably: the file fsynced
     * before the rename, then the directory. Unforced, a crash may leave it garbled or empty (deleted at the next
     * load) or missing, until {@link #force} of it and a directory fsync.
     */
    void write(Snapshot snapshot, boolean force) throws IOException {
        Path file = file(dir, snapshot.offset());
        if (force) {
            DiskIo.writeAtomically(file, encode(snapshot));
            DiskIo.fsyncDirectory(dir);
        } else {
            DiskIo.replaceUnforced(file, encode(snapshot));
        }
        offsets.add(snapshot.offset());
    }

    /**
     * fsyncs the snapshot files of {@code files} that still exist (one deleted since is skipped); the caller fsyncs
     * the directory after. Needs no lock.
     */
    static void force(List<Path> files) throws IOException {
        for (Path file : files) {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.force(true);
            } catch (NoSuchFileException deleted) {
                // retained away or truncated since: nothing to make durable
            }
        }
    }

    /** The files of the snapshots at offsets in ({@code fromExclusive}, {@code toInclusive}]. */
    List<Path> filesBetween(long fromExclusive, long toInclusive) {
        if (toInclusive <= fromExclusive) {
            return List.of();
        }
        List<Path> files = new ArrayList<>();
        for (long offset : offsets.subSet(fromExclusive, false, toInclusive, true)) {
            files.add(file(dir, offset));
        }
        return files;
    }

    /**
     * The newest readable snapshot at or below {@code maxOffset}. Newer unreadable ones (unknown version, bad CRC,
     * garbled) are deleted on the way, with a WARN; empty if there is none.
     */
    Optional<Snapshot> latestAtOrBelow(long maxOffset) throws IOException {
        for (Long offset : new ArrayList<>(offsets.headSet(maxOffset, true).descendingSet())) {
            Path file = file(dir, offset);
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (NoSuchFileException e) {
                offsets.remove(offset); // removed by hand since it was listed
                continue;
            } catch (IOException e) {
                // EACCES, EIO, a directory put there since the listing: not used, left in place, an older one tried.
                LOG.warn("Ignoring a producer snapshot that cannot be read file={}", file, e);
                offsets.remove(offset);
                continue;
            }
            try {
                return Optional.of(decode(offset, bytes));
            } catch (CorruptSnapshotException e) {
                LOG.warn("Ignoring and deleting an unreadable producer snapshot file={} problem={}", file,
                        e.getMessage());
                delete(offset);
            }
        }
        return Optional.empty();
    }

    /** Deletes the snapshots above {@code offset} (the log was truncated to it). The caller fsyncs the directory. */
    void deleteAbove(long offset) throws IOException {
        for (long above : new ArrayList<>(offsets.tailSet(offset, false))) {
            delete(above);
        }
    }

    /** Deletes the snapshot at {@code offset} and every one above it (they do not match the log). */
    void deleteFrom(long offset) throws IOException {
        for (long from : new ArrayList<>(offsets.tailSet(offset, true))) {
            delete(from);
        }
    }

    /**
     * Deletes the snapshots in {@code (fromExclusive, toInclusive]}: their fingerprint batch (at offset - 1) was in a
     * segment that compaction rewrote. The caller fsyncs the directory.
     */
    void deleteBetween(long fromExclusive, long toInclusive) throws IOException {
        for (long in : new ArrayList<>(offsets.subSet(fromExclusive, false, toInclusive, true))) {
            delete(in);
        }
    }

    /** Deletes the snapshots below {@code offset} (the log start offset moved there). */
    void deleteBelow(long offset) throws IOException {
        for (long below : new ArrayList<>(offsets.headSet(offset, false))) {
            delete(below);
        }
    }

    /** Deletes every snapshot (the log restarts empty). The caller fsyncs the directory. */
    void deleteAll() throws IOException {
        for (long offset : new ArrayList<>(offsets)) {
            delete(offset);
        }
    }

    /**
     * Applies the bound: deletes the snapshots below {@code logStartOffset}, and every snapshot that is neither the
     * newest nor at the base offset of one of the last {@value #RETAINED_SEGMENT_SNAPSHOTS} segments nor the newest
     * at or below {@code recoveryPoint}. Those cover a restart (the newest; after an unclean stop the one at or below
     * the recovery point, as Kafka keeps it) and a follower truncation into the last two segments; a deeper
     * truncation replays the log from its start.
     */
    void retain(NavigableSet<Long> segmentBaseOffsets, long logStartOffset, long recoveryPoint) throws IOException {
        deleteBelow(logStartOffset);
        if (offsets.isEmpty()) {
            return;
        }
        long newest = offsets.last();
        Long durable = offsets.floor(recoveryPoint);
        List<Long> keptBases = new ArrayList<>();
        for (long base : segmentBaseOffsets.descendingSet()) {
            if (keptBases.size() == RETAINED_SEGMENT_SNAPSHOTS) {
                break;
            }
            keptBases.add(base);
        }
        for (long offset : new ArrayList<>(offsets)) {
            if (offset != newest && !keptBases.contains(offset) && !Objects.equals(durable, offset)) {
                delete(offset);
            }
        }
    }

    private void delete(long offset) throws IOException {
        Files.deleteIfExists(file(dir, offset));
        offsets.remove(offset);
    }

    // ---------------------------------------------------------------- the format (pure)

    static ByteBuffer encode(Snapshot snapshot) {
        BatchFingerprint last = snapshot.lastBatch();
        int size = HEADER_BYTES + (last == null ? 0 : FINGERPRINT_BYTES) + snapshot.epochs().size() * EPOCH_BYTES + 4;
        for (ProducerStateManager.ProducerEntry entry : snapshot.producers()) {
            size += PRODUCER_BYTES + entry.batches().size() * BATCH_BYTES;
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        buf.putShort(FORMAT_VERSION).putInt(0).putLong(snapshot.offset()).put((byte) (last == null ? 0 : 1));
        if (last != null) {
            buf.putLong(last.baseOffset()).putLong(last.lastOffset()).putInt(last.partitionLeaderEpoch())
                    .putInt(last.crc());
        }
        buf.putInt(snapshot.epochs().size());
        for (EpochEntry epoch : snapshot.epochs()) {
            buf.putInt(epoch.epoch()).putLong(epoch.startOffset());
        }
        buf.putInt(snapshot.producers().size());
        for (ProducerStateManager.ProducerEntry entry : snapshot.producers()) {
            buf.putLong(entry.producerId()).putShort(entry.producerEpoch()).putLong(entry.lastTimestamp())
                    .putLong(entry.currentTxnFirstOffset()).putInt(entry.coordinatorEpoch())
                    .put((byte) entry.batches().size());
            for (ProducerStateManager.BatchMetadata batch : entry.batches()) {
                buf.putInt(batch.firstSeq()).putInt(batch.lastSeq()).putLong(batch.firstOffset())
                        .putLong(batch.lastOffset());
            }
        }
        buf.putInt(CRC_OFFSET, crc(buf.array(), size));
        return buf.flip();
    }

    /**
     * Parses a snapshot file's bytes, checking version, CRC, the offset against the file name's, counts against
     * the length, and that every epoch entry and cached batch lies below the offset.
     */
    static Snapshot decode(long fileOffset, byte[] bytes) throws CorruptSnapshotException {
        try {
            if (bytes.length < HEADER_BYTES) {
                throw new CorruptSnapshotException(bytes.length + " bytes, less than a header");
            }
            ByteBuffer whole = ByteBuffer.wrap(bytes);
            short version = whole.getShort(0);
            if (version != FORMAT_VERSION) {
                throw new CorruptSnapshotException("unknown version " + version);
            }
            int stored = whole.getInt(CRC_OFFSET);
            int computed = crc(bytes, bytes.length);
            if (stored != computed) {
                throw new CorruptSnapshotException("CRC " + Integer.toUnsignedString(stored) + " but computed "
                        + Integer.toUnsignedString(computed));
            }
            ByteBuffer in = ByteBuffer.wrap(bytes).position(CRC_START);
            long offset = in.getLong();
            if (offset != fileOffset) {
                throw new CorruptSnapshotException("offset " + offset + " in a file named for " + fileOffset);
            }
            BatchFingerprint lastBatch = decodeFingerprint(in, offset);
            List<EpochEntry> epochs = decodeEpochs(in, offset);
            List<ProducerStateManager.ProducerEntry> producers = decodeProducers(in, offset);
            if (in.hasRemaining()) {
                throw new CorruptSnapshotException(in.remaining() + " trailing bytes");
            }
            return new Snapshot(offset, lastBatch, epochs, producers);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new CorruptSnapshotException("does not parse: " + e);
        }
    }

    private static BatchFingerprint decodeFingerprint(ByteBuffer in, long offset) throws CorruptSnapshotException {
        byte present = in.get();
        if (present == 0) {
            return null;
        }
        var last = new BatchFingerprint(in.getLong(), in.getLong(), in.getInt(), in.getInt());
        if (present != 1 || last.baseOffset() > last.lastOffset() || last.lastOffset() != offset - 1) {
            throw new CorruptSnapshotException("last batch " + last + " does not end at " + (offset - 1));
        }
        return last;
    }

    private static List<EpochEntry> decodeEpochs(ByteBuffer in, long offset) throws CorruptSnapshotException {
        int count = in.getInt();
        if (count < 0 || count > in.remaining() / EPOCH_BYTES) {
            throw new CorruptSnapshotException("epoch count " + count);
        }
        List<EpochEntry> epochs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            EpochEntry entry = new EpochEntry(in.getInt(), in.getLong());
            EpochEntry previous = epochs.isEmpty() ? null : epochs.get(epochs.size() - 1);
            if (entry.startOffset() >= offset || (previous != null && (previous.epoch() >= entry.epoch()
                    || previous.startOffset() >= entry.startOffset()))) {
                throw new CorruptSnapshotException("epoch entry " + entry + " out of order or not below " + offset);
            }
            epochs.add(entry);
        }
        return epochs;
    }

    private static List<ProducerStateManager.ProducerEntry> decodeProducers(ByteBuffer in, long offset)
            throws CorruptSnapshotException {
        int count = in.getInt();
        if (count < 0 || count > in.remaining() / PRODUCER_BYTES) {
            throw new CorruptSnapshotException("producer count " + count);
        }
        List<ProducerStateManager.ProducerEntry> producers = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long producerId = in.getLong();
            short epoch = in.getShort();
            long lastTimestamp = in.getLong();
            long currentTxnFirstOffset = in.getLong();
            int coordinatorEpoch = in.getInt();
            int batchCount = in.get();
            if (producerId < 0 || batchCount < 0 || batchCount > ProducerStateManager.MAX_CACHED_BATCHES) {
                throw new CorruptSnapshotException("producer " + producerId + " with " + batchCount + " batches");
            }
            if (currentTxnFirstOffset < -1 || currentTxnFirstOffset >= offset || coordinatorEpoch < -1) {
                throw new CorruptSnapshotException("producer " + producerId + " with a transaction from "
                        + currentTxnFirstOffset + " and coordinator epoch " + coordinatorEpoch);
            }
            List<ProducerStateManager.BatchMetadata> batches = new ArrayList<>(batchCount);
            for (int b = 0; b < batchCount; b++) {
                var batch = new ProducerStateManager.BatchMetadata(in.getInt(), in.getInt(), in.getLong(),
                        in.getLong());
                if (batch.firstOffset() > batch.lastOffset() || batch.lastOffset() >= offset) {
                    throw new CorruptSnapshotException("producer " + producerId + " batch " + batch
                            + " not below " + offset);
                }
                batches.add(batch);
            }
            producers.add(new ProducerStateManager.ProducerEntry(producerId, epoch, batches, lastTimestamp,
                    currentTxnFirstOffset, coordinatorEpoch));
        }
        return producers;
    }

    private static int crc(byte[] bytes, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, CRC_START, length - CRC_START);
        return (int) crc.getValue();
    }

    /** A snapshot file that cannot be used: another version, a bad CRC, or bytes that do not parse. */
    static final class CorruptSnapshotException extends Exception {
        private static final long serialVersionUID = 1L;

        CorruptSnapshotException(String message) {
            super(message);
        }
    }
}
