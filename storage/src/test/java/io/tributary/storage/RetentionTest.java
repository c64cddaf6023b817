package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.logFile;
import static io.tributary.storage.TestBatches.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;

import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RetentionTest {
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
    private int fillFourSegments(long retentionMs, long retentionBytes, long[] segmentTimestamps)
            throws IOException {
        int batchSize = batch(2, 0).remaining();
        log = PartitionLog.open(dir, new LogConfig(2L * batchSize, 3_600_000, retentionMs, retentionBytes, 1_048_588,
                4096, 4096), clock);
        for (long ts : segmentTimestamps) {
            log.append(batch(2, ts), 0);
            log.append(batch(2, ts), 0);
        }
        assertThat(log.numberOfSegments()).isEqualTo(4);
        return batchSize;
    }

    @Test
    void deletesClosedSegmentsWhoseNewestTimestampIsOlderThanRetentionMs() throws IOException {
        // Given segments whose newest records are 5h, 3h, 1h old and an active one that is 10h old
        long hour = 3_600_000;
        fillFourSegments(2 * hour, -1, new long[] {NOW - 5 * hour, NOW - 3 * hour, NOW - hour, NOW - 10 * hour});

        // When retention of 2h runs
        int deleted = log.deleteRetainedSegments();

        // Then the two oldest closed segments go; the active one stays however old
        assertThat(deleted).isEqualTo(2);
        assertThat(log.logStartOffset()).isEqualTo(8);
        assertThat(log.numberOfSegments()).isEqualTo(2);
        assertThat(logFile(dir, 0)).doesNotExist();
        assertThat(logFile(dir, 4)).doesNotExist();
        assertThat(log.deleteRetainedSegments()).isZero();
    }

    @Test
    void deletesOldestClosedSegmentsWhileTheRestStaysAboveRetentionBytes() throws IOException {
        int batchSize = fillFourSegments(-1, 0, new long[] {NOW, NOW, NOW, NOW});
        long segmentSize = 2L * batchSize;
        log.updateConfig(log.config().withOverrides(java.util.Map.of("retention.bytes",
                Long.toString(2 * segmentSize))));

        int deleted = log.deleteRetainedSegments();

        assertThat(deleted).isEqualTo(2);
        assertThat(log.sizeInBytes()).isEqualTo(2 * segmentSize);
        assertThat(log.logStartOffset()).isEqualTo(8);
    }

    @Test
    void neverDeletesTheActiveSegment() throws IOException {
        fillFourSegments(0, 0, new long[] {0, 0, 0, 0});

        assertThat(log.deleteRetainedSegments()).isEqualTo(3);

        assertThat(log.numberOfSegments()).isEqualTo(1);
        assertThat(log.logStartOffset()).isEqualTo(12);
        assertThat(log.logEndOffset()).isEqualTo(16);
    }

    @Test
    void readsBelowTheNewLogStartOffsetAreOutOfRangeAndTheStartSurvivesReopen() throws IOException {
        long hour = 3_600_000;
        fillFourSegments(2 * hour, -1, new long[] {NOW - 5 * hour, NOW - 3 * hour, NOW, NOW});
        log.deleteRetainedSegments();
        assertThat(log.logStartOffset()).isEqualTo(8);

        assertThatThrownBy(() -> log.read(7, 1000, Long.MAX_VALUE))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.OFFSET_OUT_OF_RANGE));
        assertThat(parse(log.read(8, 1000, Long.MAX_VALUE).records()).get(0).baseOffset()).isEqualTo(8);

        log.close();
        log = PartitionLog.open(dir, log.config(), clock);

        assertThat(log.logStartOffset()).isEqualTo(8);
        assertThat(log.logEndOffset()).isEqualTo(16);
        assertThatThrownBy(() -> log.read(0, 1000, Long.MAX_VALUE)).isInstanceOf(LogException.class);
        assertThat(parse(log.read(8, Integer.MAX_VALUE, Long.MAX_VALUE).records()))
                .extracting(RecordBatch::baseOffset).containsExactly(8L, 10L, 12L, 14L);
    }
}
