package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.logFile;
import static io.tributary.storage.TestBatches.parse;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentRollAndIndexTest {
    @TempDir
    Path dir;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    PartitionLog log;

    @AfterEach
    void close() throws IOException {
        if (log != null) {
            log.close();
        }
    }

    @Test
    void rollsBeforeAnAppendWouldExceedSegmentBytes() throws IOException {
        int batchSize = batch(2, 0).remaining();
        // Given segments that hold exactly three batches
        log = PartitionLog.open(dir, config(3L * batchSize, 3_600_000, 64), clock);

        for (int i = 0; i < 7; i++) {
            log.append(batch(2, i), 0);
        }

        // Then 3 + 3 + 1 batches, named by their base offsets, each no larger than segment.bytes
        assertThat(log.numberOfSegments()).isEqualTo(3);
        assertThat(Files.size(logFile(dir, 0))).isEqualTo(3L * batchSize);
        assertThat(Files.size(logFile(dir, 6))).isEqualTo(3L * batchSize);
        assertThat(Files.size(logFile(dir, 12))).isEqualTo(batchSize);
        assertThat(log.sizeInBytes()).isEqualTo(7L * batchSize);
    }

    @Test
    void anEmptySegmentTakesABatchLargerThanItsRemainingRoom() throws IOException {
        int small = batch(1, 0).remaining();
        int big = batch(20, 0).remaining();
        log = PartitionLog.open(dir, config(big, 3_600_000, 64), clock);

        log.append(batch(1, 0), 0);
        log.append(batch(20, 0), 0);
        log.append(batch(20, 0), 0);

        assertThat(log.numberOfSegments()).isEqualTo(3);
        assertThat(Files.size(logFile(dir, 0))).isEqualTo(small);
        assertThat(Files.size(logFile(dir, 1))).isEqualTo(big);
    }

    @Test
    void rollsANonEmptySegmentOlderThanSegmentMs() throws IOException {
        log = PartitionLog.open(dir, config(1 << 20, 1000, 64), clock);
        clock.advance(5000); // an empty segment does not roll however old
        log.append(batch(1, 0), 0);
        clock.advance(1000);
        log.append(batch(1, 0), 0);
        assertThat(log.numberOfSegments()).isEqualTo(1);

        clock.advance(1);
        log.append(batch(1, 0), 0);

        assertThat(log.numberOfSegments()).isEqualTo(2);
        assertThat(logFile(dir, 2)).exists();
    }

    @Test
    void rollsWhenTheOffsetIndexIsFull() throws IOException {
        // Given room for one time index entry (12 bytes: one offset entry of 8 too) and an entry per batch
        log = PartitionLog.open(dir, new LogConfig(1 << 20, 3_600_000, -1, -1, 1_048_588, 0, 12), clock);

        for (int i = 0; i < 6; i++) {
            log.append(batch(1, i), 0);
        }

        // Then every segment holds two batches (the second gets the single index entry)
        assertThat(log.numberOfSegments()).isEqualTo(3);
        assertThat(parse(log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records())).hasSize(6);
    }

    @Test
    void findsEveryOffsetInTheMiddleOfManySegments() throws IOException {
        log = PartitionLog.open(dir, config(2048, 3_600_000, 100), clock);
        List<long[]> batchRanges = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            int count = 1 + i % 4;
            LogAppendResult r = log.append(batch(count, i), 0);
            batchRanges.add(new long[] {r.firstOffset(), r.lastOffset()});
        }
        assertThat(log.numberOfSegments()).isGreaterThan(10);

        for (long[] range : batchRanges) {
            for (long offset = range[0]; offset <= range[1]; offset++) {
                RecordBatch first = parse(log.read(offset, 1, Long.MAX_VALUE).records()).get(0);
                assertThat(first.baseOffset()).as("batch containing %d", offset).isEqualTo(range[0]);
                assertThat(first.lastOffset()).isEqualTo(range[1]);
            }
        }
    }

    @Test
    void indexFilesAreWrittenOnRollAndLookupsSurviveReopen() throws IOException {
        log = PartitionLog.open(dir, config(2048, 3_600_000, 100), clock);
        for (int i = 0; i < 100; i++) {
            log.append(batch(3, i), 0);
        }
        Path firstIndex = dir.resolve(LogSegment.fileName(0, LogSegment.INDEX_SUFFIX));
        assertThat(firstIndex).exists();
        assertThat(Files.size(firstIndex)).isPositive().isEqualTo(Files.size(firstIndex) / 8 * 8);
        log.close();

        log = PartitionLog.open(dir, config(2048, 3_600_000, 100), clock);

        for (long offset = 0; offset < 300; offset += 7) {
            RecordBatch first = parse(log.read(offset, 1, Long.MAX_VALUE).records()).get(0);
            assertThat(first.baseOffset()).isEqualTo(offset / 3 * 3);
        }
    }

    @Test
    void theIndexesHeapIsCountedPerSegmentAndLeavesWithTheSegments() throws IOException {
        int batchSize = batch(2, 0).remaining();
        // An index entry per batch (interval smaller than a batch), three batches per segment
        log = PartitionLog.open(dir, config(3L * batchSize, 3_600_000, 1), clock);
        long empty = log.indexHeapBytes();
        assertThat(empty).as("an empty segment's indexes hold their first arrays").isPositive();

        for (int i = 0; i < 30; i++) {
            log.append(batch(2, i), 0);
        }
        assertThat(log.numberOfSegments()).isEqualTo(10);
        long full = log.indexHeapBytes();
        assertThat(full).as("every segment's indexes are counted").isGreaterThanOrEqualTo(10 * empty);

        log.truncateFullyAndStartAt(60);
        assertThat(log.numberOfSegments()).isEqualTo(1);
        assertThat(log.indexHeapBytes()).as("removed segments' indexes are gone").isEqualTo(empty);
    }

    private static LogConfig config(long segmentBytes, long segmentMs, int indexIntervalBytes) {
        return new LogConfig(segmentBytes, segmentMs, -1, -1, 1_048_588, indexIntervalBytes, 4096);
    }
}
