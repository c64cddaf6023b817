package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.bytes;
import static io.tributary.storage.TestBatches.copyDir;
import static io.tributary.storage.TestBatches.recordOffsets;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The periodic flush in its three phases: the log end offset is taken under the append lock, the log file is fsynced
 * without it (appends go on meanwhile), and the recovery point moves to the offset taken at the start, never further
 * and never across a truncation that came in between. A roll fsyncs nothing: its flush (the segments below the new one,
 * their indexes, the roll's snapshot, the directory) runs on the flush executor after the append lock is released.
 */
class FlushTest {
    private static final LogConfig CONFIG = new LogConfig(1 << 20, 3_600_000, -1, -1, 1_048_588, 100, 4096);
    /** 2 KB segments: a batch of 3 records is ~100 bytes, so about 20 batches per segment. */
    private static final LogConfig SMALL_SEGMENTS = new LogConfig(2048, 3_600_000, -1, -1, 1_048_588, 200, 4096);

    @TempDir
    Path dir;
    private final TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    private PartitionLog log;
    /** Roll flushes handed to the flush executor and not run yet. */
    private final List<Runnable> queued = new ArrayList<>();

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(dir, CONFIG, clock);
        for (int i = 0; i < 10; i++) {
            log.append(batch(2, 1000 + i), 0); // offsets 0..19
        }
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void appendsGoOnDuringTheFsyncAndTheRecoveryPointStopsAtTheOffsetTakenFirst() throws Exception {
        PartitionLog.FlushPlan plan = log.planFlush(true);
        assertThat(plan.end()).isEqualTo(20);
        // Between taking the offset and the fsync, another thread appends: the lock is not held
        CompletableFuture.runAsync(() -> {
            try {
                log.append(batch(2, 2000), 0);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }).get(10, TimeUnit.SECONDS);
        assertThat(log.forceFiles(plan)).isTrue();
        log.completeFlush(plan);
        assertThat(log.recoveryPoint()).as("what the plan saw, not the later append").isEqualTo(20);
        assertThat(Checkpoint.read(dir.resolve("recovery-point"), -1)).isEqualTo(20);

        log.flush();
        assertThat(log.recoveryPoint()).isEqualTo(22);
    }

    @Test
    void aTruncationBetweenThePlanAndTheFsyncLeavesTheRecoveryPointAlone() throws Exception {
        log.flush();
        assertThat(log.recoveryPoint()).isEqualTo(20);
        log.append(batch(2, 3000), 0); // 20..21
        PartitionLog.FlushPlan plan = log.planFlush(true);
        // A follower truncates below the plan's end and appends other batches in their place
        log.truncateTo(10);
        log.append(batch(20, 4000), 0); // 10..29, not yet fsynced
        assertThat(log.recoveryPoint()).isEqualTo(10);
        log.forceFiles(plan);
        log.completeFlush(plan);
        assertThat(log.recoveryPoint()).as("not moved on the strength of bytes the fsync may not have covered")
                .isEqualTo(10);
    }

    @Test
    void aLogClosedDuringTheFsyncIsLeftAlone() throws Exception {
        PartitionLog.FlushPlan plan = log.planFlush(true);
        log.close();
        assertThat(log.forceFiles(plan)).isFalse();
        log.completeFlush(plan); // no exception, nothing written
        log = PartitionLog.open(dir, CONFIG, clock);
        assertThat(log.logEndOffset()).isEqualTo(20);
    }

    @Test
    void flushIntervalMessagesFsyncsOnceThatManyMessagesAreUnflushedAndNeverByDefault() throws Exception {
        // By default (Kafka's): no flush after any append
        assertThat(log.maybeFlush()).isFalse();
        assertThat(log.recoveryPoint()).isZero();

        // log.flush.interval.messages=25: 20 unflushed, then 22, then 26 -> flushed to the end
        log.setFlushIntervalMessages(25);
        assertThat(log.maybeFlush()).isFalse();
        log.append(batch(2, 3000), 0);
        assertThat(log.maybeFlush()).isFalse();
        log.append(batch(4, 3001), 0);
        assertThat(log.maybeFlush()).isTrue();
        assertThat(log.recoveryPoint()).isEqualTo(26);
        assertThat(Checkpoint.read(dir.resolve("recovery-point"), -1)).isEqualTo(26);

        // log.flush.interval.messages=1 (the durable mode): every append
        log.setFlushIntervalMessages(1);
        log.append(batch(1, 3002), 0);
        assertThat(log.maybeFlush()).isTrue();
        assertThat(log.recoveryPoint()).isEqualTo(27);
    }

    /** Appends 3-record batches to {@code rolling} until it has {@code segments} segments. */
    private static void appendUntil(PartitionLog rolling, int segments) throws IOException {
        int i = 0;
        while (rolling.numberOfSegments() < segments) {
            rolling.append(batch(3, 5000 + i++), 0);
        }
    }

    /** A log of small segments whose roll flushes wait in {@link #queued} until a test runs them. */
    private PartitionLog openWithQueuedFlushes(Path rollDir) throws IOException {
        PartitionLog rolling = PartitionLog.open(rollDir, SMALL_SEGMENTS, clock);
        rolling.setFlushExecutor(queued::add);
        return rolling;
    }

    private static Path file(Path dir, long base, String suffix) {
        return dir.resolve(LogSegment.fileName(base, suffix));
    }

    @Test
    void aRollLeavesTheFlushToTheExecutorOneQueuedAtATime() throws Exception {
        Path rollDir = dir.resolve("rolling");
        try (PartitionLog rolling = openWithQueuedFlushes(rollDir)) {
            appendUntil(rolling, 2);
            // The rolling append returned without making the old segment durable: no indexes written, no recovery
            // point moved, the flush queued
            assertThat(queued).hasSize(1);
            assertThat(rolling.recoveryPoint()).isZero();
            assertThat(file(rollDir, 0, LogSegment.INDEX_SUFFIX)).doesNotExist();
            assertThat(file(rollDir, 0, LogSegment.TIME_INDEX_SUFFIX)).doesNotExist();

            appendUntil(rolling, 3);
            assertThat(queued).as("a second roll before the flush ran queues no second flush").hasSize(1);

            List<Long> bases = rolling.segmentBaseOffsets();
            long activeBase = bases.get(2);
            queued.remove(0).run();
            assertThat(rolling.recoveryPoint()).as("everything below the active segment").isEqualTo(activeBase);
            assertThat(Checkpoint.read(rollDir.resolve(PartitionLog.RECOVERY_POINT_FILE), -1)).isEqualTo(activeBase);
            for (long base : bases.subList(0, 2)) {
                assertThat(file(rollDir, base, LogSegment.INDEX_SUFFIX)).isNotEmptyFile();
                assertThat(file(rollDir, base, LogSegment.TIME_INDEX_SUFFIX)).isNotEmptyFile();
            }
            assertThat(file(rollDir, activeBase, LogSegment.INDEX_SUFFIX)).as("the active one is not flushed")
                    .doesNotExist();

            appendUntil(rolling, 4);
            assertThat(queued).as("the next roll queues the next flush").hasSize(1);
        }
    }

    @Test
    void anUncleanStopBeforeTheRollFlushChecksTheRolledSegmentsAndTrustsNoSnapshotAboveTheRecoveryPoint()
            throws Exception {
        Path rollDir = dir.resolve("rolling");
        try (PartitionLog rolling = openWithQueuedFlushes(rollDir)) {
            appendUntil(rolling, 3);
            List<Long> bases = rolling.segmentBaseOffsets();
            Path crash = copyDir(rollDir, dir.resolve("crash"));
            // A power loss tore the middle segment's last batch: above the recovery point (0), nothing was forced
            Path middle = TestBatches.logFile(crash, bases.get(1));
            try (FileChannel channel = FileChannel.open(middle, StandardOpenOption.WRITE)) {
                channel.truncate(channel.size() - 7);
            }

            try (PartitionLog recovered = PartitionLog.open(crash, SMALL_SEGMENTS, clock)) {
                assertThat(recovered.segmentBaseOffsets()).as("the segment after the torn one goes")
                        .containsExactly(bases.get(0), bases.get(1));
                long end = recovered.logEndOffset();
                assertThat(end).isGreaterThan(bases.get(1)).isLessThan(bases.get(2));
                assertThat(recordOffsets(recovered.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records()))
                        .hasSize((int) end);
                // The roll's snapshot at bases[1] is on disk (the page cache kept it) but above the recovery point:
                // the producer state is replayed from the start, every batch header read
                assertThat(recovered.headersReadAtOpen()).isEqualTo(end / 3);
                assertThat(recovered.append(batch(1, 9001), 0).firstOffset()).isEqualTo(end);
            }
        }
    }

    @Test
    void aTruncationDuringTheRollFlushLeavesTheRecoveryPointAndTheIndexesAlone() throws Exception {
        Path rollDir = dir.resolve("rolling");
        try (PartitionLog rolling = openWithQueuedFlushes(rollDir)) {
            appendUntil(rolling, 3);
            List<Long> bases = rolling.segmentBaseOffsets();
            PartitionLog.FlushPlan plan = rolling.planFlush(false);
            assertThat(plan.inactive()).hasSize(2);
            // A follower truncates into the last inactive segment (the active one goes) and appends in its place
            rolling.truncateTo(bases.get(1) + 3);
            rolling.append(batch(3, 7000), 0);
            assertThat(rolling.forceFiles(plan)).as("both planned segments are still open").isTrue();
            assertThat(rolling.writeIndexes(plan)).as("but the second is the active one again").isFalse();
            rolling.completeFlush(plan);
            assertThat(rolling.recoveryPoint()).as("not moved on the strength of the truncated segment").isZero();
            assertThat(file(rollDir, bases.get(1), LogSegment.INDEX_SUFFIX)).doesNotExist();
        }
    }

    @Test
    void aFlushThatARollOvertakesStillWritesTheRolledSegmentsIndexes() throws Exception {
        Path rollDir = dir.resolve("rolling");
        try (PartitionLog rolling = openWithQueuedFlushes(rollDir)) {
            // A flush planned right before the append that rolls: its end is the new segment's base
            PartitionLog.FlushPlan plan;
            int i = 0;
            do {
                plan = rolling.planFlush(true);
                rolling.append(batch(3, 8000 + i++), 0);
            } while (rolling.numberOfSegments() < 2);
            long base = rolling.segmentBaseOffsets().get(1);
            assertThat(plan.end()).isEqualTo(base);

            assertThat(rolling.forceFiles(plan)).isTrue();
            assertThat(rolling.writeIndexes(plan)).isTrue();
            rolling.completeFlush(plan);
            assertThat(rolling.recoveryPoint()).isEqualTo(base);
            // The recovery point is past the old segment now, so no later flush covers it: this one wrote them
            assertThat(file(rollDir, 0, LogSegment.INDEX_SUFFIX)).isNotEmptyFile();
            assertThat(file(rollDir, 0, LogSegment.TIME_INDEX_SUFFIX)).isNotEmptyFile();
        }
    }

    @Test
    void aSegmentDeletedDuringTheFlushIsSkippedAndTheFlushCompletes() throws Exception {
        Path rollDir = dir.resolve("rolling");
        try (PartitionLog rolling = openWithQueuedFlushes(rollDir)) {
            appendUntil(rolling, 3);
            List<Long> bases = rolling.segmentBaseOffsets();
            PartitionLog.FlushPlan plan = rolling.planFlush(true);
            assertThat(plan.inactive()).hasSize(2);
            // DeleteRecords (or retention) removes the first segment between the plan and the fsyncs
            rolling.advanceLogStartOffset(bases.get(1));
            assertThat(rolling.segmentBaseOffsets()).doesNotContain(bases.get(0));

            assertThat(rolling.forceFiles(plan)).isTrue();
            assertThat(rolling.writeIndexes(plan)).isTrue();
            assertThat(rolling.completeFlush(plan)).isTrue();
            assertThat(rolling.recoveryPoint()).isEqualTo(plan.end());
            assertThat(file(rollDir, bases.get(1), LogSegment.INDEX_SUFFIX)).isNotEmptyFile();
        }
    }

    @Test
    void theSnapshotAtOrBelowTheRecoveryPointOutlivesLaterRollsBeforeTheirFlush() throws Exception {
        Path rollDir = dir.resolve("rolling");
        try (PartitionLog rolling = openWithQueuedFlushes(rollDir)) {
            appendUntil(rolling, 2);
            queued.remove(0).run();
            long flushedBase = rolling.segmentBaseOffsets().get(1);
            assertThat(rolling.recoveryPoint()).isEqualTo(flushedBase);
            appendUntil(rolling, 6); // four rolls, their flush not run: only the last two bases' snapshots and this
            long end = rolling.logEndOffset();

            try (PartitionLog recovered = PartitionLog.open(copyDir(rollDir, dir.resolve("crash")), SMALL_SEGMENTS,
                    clock)) {
                assertThat(recovered.logEndOffset()).isEqualTo(end);
                assertThat(recovered.headersReadAtOpen()).as("replayed from the snapshot at the recovery point")
                        .isEqualTo((end - flushedBase) / 3);
            }
        }
    }
}
