package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.copyDir;
import static io.tributary.storage.TestBatches.deleteSnapshots;
import static io.tributary.storage.TestBatches.idempotentBatch;
import static io.tributary.storage.TestBatches.snapshotOffsets;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Producer-state snapshots ({@code <offset>.snapshot}): written at roll and close, restore the producer state on
 * open so that only the batch headers after the newest snapshot are read; an unreadable snapshot is ignored and an
 * older one (or the log) used, never log data deleted; truncation deletes the snapshots above the new end; the number
 * of snapshot files is bounded.
 */
class ProducerSnapshotTest {
    static final int PRODUCERS = 4;
    static final short EPOCH = 2;

    @TempDir
    Path tmp;
    Path dir;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    PartitionLog log;
    final int[] nextSequence = new int[PRODUCERS];

    @BeforeEach
    void open() throws IOException {
        dir = tmp.resolve("p-0");
        log = PartitionLog.open(dir, TestBatches.SMALL, clock);
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    /** Appends {@code count} idempotent batches, round robin over the producers, each of 1 to 3 records. */
    private void appendIdempotent(int count) throws IOException {
        for (int i = 0; i < count; i++) {
            int producer = i % PRODUCERS;
            int records = 1 + i % 3;
            log.append(idempotentBatch(producer, EPOCH, nextSequence[producer], records, clock.millis()), 0);
            nextSequence[producer] += records;
        }
    }

    /** Batches whose base offset is at or above {@code offset}. */
    private static long batchesFrom(PartitionLog log, long offset) throws IOException {
        ByteBuffer all = log.read(log.logStartOffset(), Integer.MAX_VALUE, Long.MAX_VALUE).records();
        return TestBatches.parse(all).stream().filter(b -> b.baseOffset() >= offset).count();
    }

    private PartitionLog reopen(Path at) throws IOException {
        return PartitionLog.open(at, TestBatches.SMALL, clock);
    }

    @Test
    void aRestartReadsOnlyTheBatchHeadersAfterTheNewestSnapshot() throws IOException {
        // Given many segments of idempotent batches
        appendIdempotent(400);
        assertThat(log.numberOfSegments()).isGreaterThan(10);
        Map<Long, ProducerStateManager.ProducerEntry> before = log.producerState().entries();
        long totalBatches = batchesFrom(log, 0);
        List<Long> rollSnapshots = snapshotOffsets(dir);
        long lastRoll = rollSnapshots.get(rollSnapshots.size() - 1);

        // When it is closed and reopened: the snapshot written at close is at the log end, so no header is read
        restartCleanlyReadingNoHeader();
        assertThat(snapshotOffsets(dir)).endsWith(log.logEndOffset());

        // When the close snapshot is gone, only the batches after the last roll's snapshot are read
        log.close();
        Files.delete(ProducerSnapshots.file(dir, log.logEndOffset()));
        log = reopen(dir);
        assertThat(log.headersReadAtOpen()).isEqualTo(batchesFrom(log, lastRoll)).isLessThan(totalBatches / 5);
        assertThat(log.producerState().entries()).isEqualTo(before);

        // And without any snapshot, every header is read (and the state is the same)
        log.close();
        deleteSnapshots(dir);
        log = reopen(dir);
        assertThat(log.headersReadAtOpen()).isEqualTo(totalBatches);
        assertThat(log.producerState().entries()).isEqualTo(before);
    }

    @Test
    void anUncleanRestartReplaysOnlyTheTailAfterTheLastRollAndAtTheRecoveredEnd() throws IOException {
        // Given a crash copy (no close, no close snapshot) whose last batch is torn
        appendIdempotent(300);
        List<Long> snapshots = snapshotOffsets(dir);
        long lastRoll = snapshots.get(snapshots.size() - 1);
        Path crash = copyDir(dir, tmp.resolve("crash"));
        TestBatches.chopTail(TestBatches.logFile(crash, lastRoll), 5);

        // When it is opened
        try (PartitionLog recovered = reopen(crash)) {
            // Then recovery dropped the torn batch, and the producer state is the roll snapshot plus the tail
            assertThat(recovered.logEndOffset()).isLessThan(log.logEndOffset());
            assertThat(recovered.headersReadAtOpen()).isEqualTo(batchesFrom(recovered, lastRoll));
            assertThat(recovered.producerState().entries()).isEqualTo(fullReplay(crash));
            // and a snapshot was written at the recovered end, so that the next open reads nothing
            assertThat(snapshotOffsets(crash)).endsWith(recovered.logEndOffset());
        }
        try (PartitionLog again = reopen(crash)) {
            assertThat(again.headersReadAtOpen()).isZero();
        }
    }

    @Test
    void aSnapshotAboveTheRecoveredLogEndIsNotUsed() throws IOException {
        // Given a crash copy that kept the close snapshot but lost the last batches (as a torn tail would)
        appendIdempotent(120);
        log.close();
        long end = log.logEndOffset();
        Path crash = copyDir(dir, tmp.resolve("crash"));
        Files.delete(crash.resolve(PartitionLog.CLEAN_SHUTDOWN_FILE));
        List<Long> snapshots = snapshotOffsets(crash);
        long lastRoll = snapshots.get(snapshots.size() - 2);
        TestBatches.chopTail(TestBatches.logFile(crash, lastRoll), 3);

        // When it is opened, the snapshot at the old end (above the recovered end) is deleted, not used
        try (PartitionLog recovered = reopen(crash)) {
            assertThat(recovered.logEndOffset()).isLessThan(end);
            assertThat(snapshotOffsets(crash)).doesNotContain(end).allMatch(o -> o <= recovered.logEndOffset());
            assertThat(recovered.producerState().entries()).isEqualTo(fullReplay(crash));
        }
    }

    static Stream<Arguments> damagedSnapshots() {
        return Stream.of(
                Arguments.of("a flipped byte (CRC)", (Damage) file -> flipByte(file, 30)),
                Arguments.of("an unknown version", (Damage) file -> flipByte(file, 1)),
                Arguments.of("torn", (Damage) file -> TestBatches.chopTail(file, Files.size(file) / 2)),
                Arguments.of("empty", (Damage) file -> Files.write(file, new byte[0])));
    }

    @FunctionalInterface
    interface Damage {
        void apply(Path file) throws IOException;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("damagedSnapshots")
    void anUnreadableSnapshotIsIgnoredForAnOlderOneAndNoLogDataIsDeleted(String name, Damage damage)
            throws IOException {
        // Given a closed log whose newest snapshot (at the log end) is damaged
        appendIdempotent(200);
        Map<Long, ProducerStateManager.ProducerEntry> before = log.producerState().entries();
        log.close();
        long end = log.logEndOffset();
        List<Long> snapshots = snapshotOffsets(dir);
        long older = snapshots.get(snapshots.size() - 2);
        Map<Path, Long> segmentSizes = segmentSizes(dir);
        damage.apply(ProducerSnapshots.file(dir, end));

        // When it is opened
        log = reopen(dir);

        // Then the older snapshot was used, the state is the same, the damaged file is gone, the log untouched
        assertThat(log.headersReadAtOpen()).isEqualTo(batchesFrom(log, older));
        assertThat(log.producerState().entries()).isEqualTo(before);
        assertThat(log.logEndOffset()).isEqualTo(end);
        assertThat(segmentSizes(dir)).containsAllEntriesOf(segmentSizes);
        assertThat(ProducerSnapshots.list(dir).latestAtOrBelow(end).map(ProducerSnapshots.Snapshot::offset))
                .as("a new, readable snapshot at the end").contains(end);
    }

    @Test
    void withEverySnapshotUnreadableTheStateIsReplayedFromTheLog() throws IOException {
        appendIdempotent(200);
        Map<Long, ProducerStateManager.ProducerEntry> before = log.producerState().entries();
        log.close();
        for (long offset : snapshotOffsets(dir)) {
            flipByte(ProducerSnapshots.file(dir, offset), 20);
        }

        log = reopen(dir);

        assertThat(log.headersReadAtOpen()).isEqualTo(batchesFrom(log, 0));
        assertThat(log.producerState().entries()).isEqualTo(before);
    }

    @Test
    void atMostThreeSnapshotsAreKeptAndNoneBelowTheLogStart() throws IOException {
        // Given many rolls and clean restarts
        for (int round = 0; round < 4; round++) {
            appendIdempotent(150);
            List<Long> snapshots = snapshotOffsets(dir);
            assertThat(snapshots).hasSizeLessThanOrEqualTo(3);
            log.close();
            assertThat(snapshotOffsets(dir)).hasSizeLessThanOrEqualTo(3).endsWith(log.logEndOffset());
            log = reopen(dir);
        }
        // When retention deletes all but the active segment
        log.updateConfig(new LogConfig(4096, 3_600_000, -1, 1, 1_048_588, 256, 4096));
        assertThat(log.deleteRetainedSegments()).isPositive();

        // Then no snapshot is left below the log start offset, and a restart still reads only the tail
        assertThat(snapshotOffsets(dir)).isNotEmpty().allMatch(offset -> offset >= log.logStartOffset());
        restartCleanlyReadingNoHeader();
    }

    @Test
    void truncationDeletesTheSnapshotsAboveTheNewEndAndRestoresFromTheOneBelow() throws IOException {
        // Given several segments, and a truncation point inside the second to last one
        appendIdempotent(300);
        List<Long> snapshots = snapshotOffsets(dir);
        long secondToLastRoll = snapshots.get(snapshots.size() - 2);
        long lastRoll = snapshots.get(snapshots.size() - 1);
        long target = (secondToLastRoll + lastRoll) / 2;

        // When the log is truncated there
        log.truncateTo(target);

        // Then no snapshot is above the new end, and the state is what a replay of the remaining log gives
        assertThat(snapshotOffsets(dir)).isNotEmpty().allMatch(offset -> offset <= log.logEndOffset());
        assertThat(log.producerState().entries()).isEqualTo(fullReplay(dir));
        // and a restart after new appends uses nothing from the truncated tail
        appendIdempotentContinuing();
        Map<Long, ProducerStateManager.ProducerEntry> after = log.producerState().entries();
        Path crash = copyDir(dir, tmp.resolve("crash"));
        try (PartitionLog recovered = reopen(crash)) {
            assertThat(recovered.producerState().entries()).isEqualTo(after);
        }
    }

    @Test
    void aSnapshotWhosePrecedingBatchWasReplacedIsDeletedAndTheLogReplayed() throws IOException {
        // Given the newest roll snapshot, kept aside (as a downgrade that ignores snapshots, or a lost delete, would)
        appendIdempotent(300);
        List<Long> snapshots = snapshotOffsets(dir);
        long secondToLastRoll = snapshots.get(snapshots.size() - 2);
        long lastRoll = snapshots.get(snapshots.size() - 1);
        byte[] stale = Files.readAllBytes(ProducerSnapshots.file(dir, lastRoll));
        // and the log truncated below it and rewritten past it with other batches (no producer id)
        log.truncateTo((secondToLastRoll + lastRoll) / 2);
        while (log.logEndOffset() < lastRoll + 20) {
            log.append(batch(7, clock.millis()), 0);
        }
        Path crash = copyDir(dir, tmp.resolve("crash"));
        for (long offset : snapshotOffsets(crash)) {
            if (offset >= lastRoll) {
                Files.delete(ProducerSnapshots.file(crash, offset));
            }
        }
        long fallback = snapshotOffsets(crash).stream().mapToLong(Long::longValue).max().orElseThrow();
        Files.write(ProducerSnapshots.file(crash, lastRoll), stale);
        Map<Path, Long> sizes = segmentSizes(crash);

        // When it is opened
        try (PartitionLog recovered = reopen(crash)) {
            // Then the stale snapshot was not used: the state is a full replay's, the file is gone, no log data lost
            assertThat(recovered.producerState().entries()).isEqualTo(fullReplay(crash));
            assertThat(snapshotOffsets(crash)).doesNotContain(lastRoll).allMatch(o -> o <= recovered.logEndOffset());
            assertThat(segmentSizes(crash)).isEqualTo(sizes);
            // and it fell back to the older snapshot, which still matches the log below it
            assertThat(fallback).isGreaterThanOrEqualTo(secondToLastRoll);
            assertThat(recovered.headersReadAtOpen()).isEqualTo(batchesFrom(recovered, fallback));
        }
    }

    @Test
    void aSnapshotWhosePrecedingBatchIsIntactIsUsed() throws IOException {
        // Given a crash copy whose newest snapshot is a roll snapshot over an intact log
        appendIdempotent(300);
        List<Long> snapshots = snapshotOffsets(dir);
        long lastRoll = snapshots.get(snapshots.size() - 1);
        Path crash = copyDir(dir, tmp.resolve("crash"));

        // When it is opened, the fingerprint matches: only the headers after the snapshot are read
        try (PartitionLog recovered = reopen(crash)) {
            assertThat(recovered.headersReadAtOpen()).isEqualTo(batchesFrom(recovered, lastRoll)).isLessThan(30);
            assertThat(recovered.producerState().entries()).isEqualTo(fullReplay(crash));
            assertThat(snapshotOffsets(crash)).contains(lastRoll);
        }
    }

    @Test
    void aBadSnapshotNameOrADirectoryNamedLikeASnapshotDoesNotStopTheOpen() throws IOException {
        // Given a clean copy whose close snapshot is replaced by a non-empty directory of that name (so the snapshot
        // at the end of the open cannot be written either), and a name 20 digits long above Long.MAX_VALUE
        appendIdempotent(120);
        Map<Long, ProducerStateManager.ProducerEntry> before = log.producerState().entries();
        log.close();
        long end = log.logEndOffset();
        Path copy = copyDir(dir, tmp.resolve("copy"));
        Path asDirectory = ProducerSnapshots.file(copy, end);
        Files.delete(asDirectory);
        Files.createDirectory(asDirectory);
        Files.write(asDirectory.resolve("keep"), new byte[1]);
        Files.write(copy.resolve("99999999999999999999" + ProducerSnapshots.SUFFIX), new byte[30]);

        // When it is opened, Then the open succeeds from an older snapshot and the state is unchanged
        PartitionLog reopened = reopen(copy);
        assertThat(reopened.logEndOffset()).isEqualTo(end);
        assertThat(reopened.producerState().entries()).isEqualTo(before);
        assertThat(asDirectory.resolve("keep")).exists();
        // (close writes a snapshot at the end too, and does fail on the directory: only open is forgiving)
        Files.delete(asDirectory.resolve("keep"));
        Files.delete(asDirectory);
        reopened.close();
    }

    @Test
    void anExpiredProducerStaysForgottenAfterACleanRestart() throws IOException {
        // Given an expired producer whose batches are still in the log, over several segments
        long expirationMs = 60_000;
        log.append(idempotentBatch(PRODUCERS, EPOCH, 0, 3, clock.millis() - 2 * expirationMs), 0);
        appendIdempotent(100);
        assertThat(log.numberOfSegments()).isGreaterThan(2);
        assertThat(log.expireProducers(expirationMs)).isEqualTo(1);

        // When the log is closed and reopened, then its state comes from the snapshot written at close, which no
        // longer holds the expired producer (a replay of the log would bring it back until the next expiration)
        restartCleanlyReadingNoHeader();
        assertThat(log.producerState().entry(PRODUCERS)).isEmpty();
    }

    @Test
    void truncateFullyDeletesEverySnapshot() throws IOException {
        appendIdempotent(150);
        assertThat(snapshotOffsets(dir)).isNotEmpty();

        log.truncateFullyAndStartAt(5000);

        assertThat(snapshotOffsets(dir)).isEmpty();
        assertThat(log.producerState().producerCount()).isZero();
        log.append(batch(2, 0), 1);
        log.close();
        log = reopen(dir);
        assertThat(log.logStartOffset()).isEqualTo(5000);
        assertThat(log.producerState().producerCount()).isZero();
    }

    @Test
    void snapshotsRoundTripAndRefuseWhatDoesNotParse() throws Exception {
        var entries = List.of(
                new ProducerStateManager.ProducerEntry(7, (short) 3, List.of(
                        new ProducerStateManager.BatchMetadata(0, 4, 10, 14),
                        new ProducerStateManager.BatchMetadata(5, 5, 20, 20)), 1234),
                new ProducerStateManager.ProducerEntry(9, (short) 0, List.of(), -1));
        var snapshot = new ProducerSnapshots.Snapshot(21, new ProducerSnapshots.BatchFingerprint(20, 20, 4, 0xCAFE0001),
                List.of(new EpochEntry(0, 0), new EpochEntry(4, 12)), entries);
        var atStart = new ProducerSnapshots.Snapshot(0, null, List.of(), List.of());
        byte[] atStartBytes = TestBatches.bytes(ProducerSnapshots.encode(atStart));
        assertThat(ProducerSnapshots.decode(0, atStartBytes)).isEqualTo(atStart);
        ByteBuffer encoded = ProducerSnapshots.encode(snapshot);
        byte[] bytes = TestBatches.bytes(encoded);
        assertThat(ByteBuffer.wrap(bytes).getShort(0)).isEqualTo(ProducerSnapshots.FORMAT_VERSION);

        assertThat(ProducerSnapshots.decode(21, bytes)).isEqualTo(snapshot);
        for (int i = 0; i < bytes.length; i++) {
            byte[] flipped = bytes.clone();
            flipped[i] ^= 0x10;
            int at = i;
            assertThat(catchCorrupt(() -> ProducerSnapshots.decode(21, flipped))).as("byte %d flipped", at).isTrue();
        }
        assertThat(catchCorrupt(() -> ProducerSnapshots.decode(22, bytes))).as("another offset").isTrue();
    }

    // ---------------------------------------------------------------- helpers

    /** Closes and reopens the log: a clean restart reads no batch header and keeps the producer state exactly. */
    private void restartCleanlyReadingNoHeader() throws IOException {
        Map<Long, ProducerStateManager.ProducerEntry> before = log.producerState().entries();
        log.close();
        log = reopen(dir);
        assertThat(log.headersReadAtOpen()).isZero();
        assertThat(log.producerState().entries()).isEqualTo(before);
    }

    private void appendIdempotentContinuing() throws IOException {
        for (int producer = 0; producer < PRODUCERS; producer++) {
            int next = log.producerState().entry(producer).map(e -> e.lastSequence() + 1).orElse(0);
            log.append(idempotentBatch(producer, EPOCH, next, 2, 5000), 0);
        }
    }

    /** The producer state a replay of every batch header of a copy of {@code from} gives. */
    private Map<Long, ProducerStateManager.ProducerEntry> fullReplay(Path from) throws IOException {
        Path copy = copyDir(from, tmp.resolve("replay-" + System.nanoTime()));
        deleteSnapshots(copy);
        try (PartitionLog replayed = reopen(copy)) {
            return replayed.producerState().entries();
        }
    }

    private static Map<Path, Long> segmentSizes(Path dir) throws IOException {
        Map<Path, Long> sizes = new java.util.HashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(LogSegment.LOG_SUFFIX)).toList()) {
                sizes.put(file.getFileName(), Files.size(file));
            }
        }
        return sizes;
    }

    private static void flipByte(Path file, int position) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[position] ^= 0x01;
        Files.write(file, bytes);
    }

    @FunctionalInterface
    interface Decode {
        Object run() throws Exception;
    }

    private static boolean catchCorrupt(Decode decode) throws Exception {
        try {
            decode.run();
            return false;
        } catch (ProducerSnapshots.CorruptSnapshotException e) {
            return true;
        }
    }
}
