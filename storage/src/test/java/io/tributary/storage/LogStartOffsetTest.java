package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.logFile;
import static io.tributary.storage.TestBatches.recordOffsets;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** DeleteRecords on the log: {@link PartitionLog#advanceLogStartOffset} (Kafka's maybeIncrementLogStartOffset). */
class LogStartOffsetTest {
    static final long NOW = 100_000_000;

    @TempDir
    Path dir;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(NOW);
    PartitionLog log;

    @AfterEach
    void close() throws IOException {
        if (log != null) {
            log.close();
        }
    }

    /** Four segments of two 2-record batches each: offsets 0-3, 4-7, 8-11, 12-15 (active). */
    private LogConfig fillFourSegments() throws IOException {
        int batchSize = batch(2, 0).remaining();
        LogConfig config = new LogConfig(2L * batchSize, 3_600_000, -1, -1, 1_048_588, 4096, 4096);
        log = PartitionLog.open(dir.resolve("t-0"), config, clock);
        for (int i = 0; i < 8; i++) {
            log.append(batch(2, NOW + i), i < 4 ? 0 : 1);
        }
        assertThat(log.numberOfSegments()).isEqualTo(4);
        return config;
    }

    @Test
    void movesTheStartDeletesWholeSegmentsBelowAndKeepsTheOneHoldingIt() throws IOException {
        // Given four segments [0-3] [4-7] [8-11] [12-15]
        fillFourSegments();

        // When the start moves to 9, inside the third segment
        assertThat(log.advanceLogStartOffset(9)).isEqualTo(9);

        // Then the two segments wholly below go, the one holding 9 stays, reads below 9 are out of range
        assertThat(log.logStartOffset()).isEqualTo(9);
        assertThat(log.segmentBaseOffsets()).containsExactly(8L, 12L);
        assertThat(logFile(dir.resolve("t-0"), 0)).doesNotExist();
        assertThat(logFile(dir.resolve("t-0"), 4)).doesNotExist();
        assertThatThrownBy(() -> log.read(8, 1 << 20, Long.MAX_VALUE))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.OFFSET_OUT_OF_RANGE));
        assertThat(recordOffsets(log.read(9, 1 << 20, Long.MAX_VALUE).records())).startsWith(8L, 9L, 10L);
        assertThat(log.leaderEpochCache().entries()).first()
                .as("the entry covering the start moves to it").isEqualTo(new EpochEntry(1, 9));
        assertThat(log.offsetForTimestamp(0)).as("nothing below the start is found by time")
                .hasValueSatisfying(found -> assertThat(found.offset()).isEqualTo(9));
    }

    @Test
    void aLowerOrEqualOffsetChangesNothingAndOnePastTheEndIsRefused() throws IOException {
        fillFourSegments();
        log.advanceLogStartOffset(5);

        assertThat(log.advanceLogStartOffset(3)).isEqualTo(5);
        assertThat(log.advanceLogStartOffset(5)).isEqualTo(5);
        assertThat(log.segmentBaseOffsets()).containsExactly(4L, 8L, 12L);
        assertThatThrownBy(() -> log.advanceLogStartOffset(17)).isInstanceOfSatisfying(LogException.class,
                e -> assertThat(e.error()).isEqualTo(LogError.OFFSET_OUT_OF_RANGE));
    }

    @Test
    void theLogEndOffsetEmptiesTheLogButKeepsTheActiveSegment() throws IOException {
        fillFourSegments();

        log.advanceLogStartOffset(16);

        assertThat(log.logStartOffset()).isEqualTo(16);
        assertThat(log.segmentBaseOffsets()).containsExactly(12L);
        assertThat(log.read(16, 1 << 20, Long.MAX_VALUE).records().remaining()).isZero();
        log.append(batch(1, NOW), 2);
        assertThat(recordOffsets(log.read(16, 1 << 20, Long.MAX_VALUE).records())).containsExactly(16L);
    }

    @Test
    void theStartIsDurableAcrossCleanAndUncleanReopen() throws IOException {
        LogConfig config = fillFourSegments();
        log.advanceLogStartOffset(10);

        // An unclean stop: a copy of the directory as it is now, without close
        Path crashed = TestBatches.copyDir(dir.resolve("t-0"), dir.resolve("crashed"));
        log.close();
        log = PartitionLog.open(dir.resolve("t-0"), config, clock);
        assertThat(log.logStartOffset()).as("clean reopen").isEqualTo(10);
        log.close();

        log = PartitionLog.open(crashed, config, clock);
        assertThat(log.logStartOffset()).as("unclean reopen").isEqualTo(10);
        assertThatThrownBy(() -> log.read(9, 1 << 20, Long.MAX_VALUE)).isInstanceOf(LogException.class);
    }

    @Test
    void aTruncationThatCutsTheBatchHoldingTheStartBringsTheStartDownToTheNewEnd() throws IOException {
        // Given batches [0-2] [3-5] and the start inside the second one (a follower that took its leader's start)
        log = PartitionLog.open(dir.resolve("t-0"), new LogConfig(4096, 3_600_000, -1, -1, 1_048_588, 256, 4096),
                clock);
        log.append(batch(3, NOW), 0);
        log.append(batch(3, NOW), 0);
        log.advanceLogStartOffset(4);

        // When a divergence cuts from 4: the whole batch holding it goes
        log.truncateTo(4);

        // Then the start follows the end down (Kafka's truncateTo lowers it too), durably, and can move up again
        assertThat(log.logEndOffset()).isEqualTo(3);
        assertThat(log.logStartOffset()).isEqualTo(3);
        log.close();
        log = PartitionLog.open(dir.resolve("t-0"), new LogConfig(4096, 3_600_000, -1, -1, 1_048_588, 256, 4096),
                clock);
        assertThat(log.logStartOffset()).isEqualTo(3);
        log.append(batch(3, NOW), 0);
        assertThat(log.advanceLogStartOffset(4)).isEqualTo(4);
    }

    @Test
    void producersBelowTheStartAreForgottenButAnOpenTransactionIsKept() throws IOException {
        log = PartitionLog.open(dir, new LogConfig(4096, 3_600_000, -1, -1, 1_048_588, 256, 4096), clock);
        log.append(TestBatches.idempotentBatch(5, (short) 0, 0, 2), 0); // 0-1, producer 5
        long txnFirst = log.append(txn(7, 0, 2), 0).firstOffset(); // 2-3, producer 7 opens a transaction
        log.append(batch(2, NOW), 0); // 4-5

        log.advanceLogStartOffset(4);

        assertThat(log.producerState().entry(5)).as("its last batch is gone").isEmpty();
        assertThat(log.producerState().entry(7)).as("its marker must still find it").isPresent();
        assertThat(log.firstUnstableOffset()).hasValue(txnFirst);
        log.appendTransactionMarker(7, (short) 0, 0, false, 0);
        assertThat(log.firstUnstableOffset()).isEmpty();
        assertThat(log.abortedTransactions(4, log.logEndOffset())).extracting(AbortedTxn::producerId)
                .containsExactly(7L);
    }

    private ByteBuffer txn(long producerId, int baseSequence, int count) {
        SimpleRecord[] records = TestBatches.records(count, clock.millis(), 10);
        return MemoryRecords.withTransactionalRecords(Compression.NONE, producerId, (short) 0, baseSequence, records)
                .buffer();
    }
}
