package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.logFile;
import static io.tributary.storage.TestBatches.recordOffsets;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.LongStream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TruncateTest {
    static final LogConfig CONFIG = new LogConfig(1024, 3_600_000, -1, -1, 1_048_588, 100, 4096);

    @TempDir
    Path dir;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(dir, CONFIG, clock);
        for (int i = 0; i < 40; i++) {
            log.append(batch(2, 1000 + i), 0); // offsets 0..79
        }
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void dropsLaterSegmentsAndTheTailOfTheContainingOne() throws IOException {
        int segmentsBefore = log.numberOfSegments();
        assertThat(segmentsBefore).isGreaterThan(3);

        log.truncateTo(30);

        assertThat(log.logEndOffset()).isEqualTo(30);
        assertThat(log.numberOfSegments()).isLessThan(segmentsBefore);
        assertThat(logFile(dir, 78)).doesNotExist();
        assertThat(recordOffsets(log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records()))
                .containsExactlyElementsOf(LongStream.range(0, 30).boxed().toList());
        assertThat(log.offsetForTimestamp(1015)).contains(new TimestampOffset(1015, 29));
        assertThat(log.offsetForTimestamp(1016)).isEmpty();

        // appends continue at 30, and the truncated state survives a reopen
        assertThat(log.append(batch(4, 5000), 0).firstOffset()).isEqualTo(30);
        log.close();
        log = PartitionLog.open(dir, CONFIG, clock);
        assertThat(log.logEndOffset()).isEqualTo(34);
        assertThat(recordOffsets(log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records()))
                .containsExactlyElementsOf(LongStream.range(0, 34).boxed().toList());
    }

    @Test
    void truncatingToASegmentBaseEmptiesThatSegment() throws IOException {
        long secondBase = findSecondSegmentBase();

        log.truncateTo(secondBase);

        assertThat(log.numberOfSegments()).isEqualTo(2);
        assertThat(log.logEndOffset()).isEqualTo(secondBase);
        assertThat(log.append(batch(1, 0), 0).firstOffset()).isEqualTo(secondBase);
    }

    @Test
    void anOffsetInsideABatchTruncatesToTheStartOfThatBatch() throws IOException {
        // Given 2-record batches (30..31 is one), when truncating to 31
        log.truncateTo(31);

        // Then the whole batch goes: a follower fetches 30.. again
        assertThat(log.logEndOffset()).isEqualTo(30);
        assertThat(recordOffsets(log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records()))
                .containsExactlyElementsOf(LongStream.range(0, 30).boxed().toList());
        assertThat(log.append(batch(2, 0), 0).firstOffset()).isEqualTo(30);
    }

    @Test
    void rejectsAnOffsetBelowTheLogStartOffset() throws IOException {
        log.truncateFullyAndStartAt(100);
        log.append(batch(2, 0), 0);

        assertThatThrownBy(() -> log.truncateTo(99)).isInstanceOf(IllegalArgumentException.class);
        assertThat(log.logEndOffset()).isEqualTo(102);
    }

    @Test
    void truncatingAtOrBeyondTheEndDoesNothing() throws IOException {
        log.truncateTo(80);
        log.truncateTo(1000);
        assertThat(log.logEndOffset()).isEqualTo(80);
    }

    @Test
    void truncateFullyRestartsTheLogAtTheGivenOffset() throws IOException {
        log.truncateFullyAndStartAt(500);

        assertThat(log.logStartOffset()).isEqualTo(500);
        assertThat(log.logEndOffset()).isEqualTo(500);
        assertThat(log.numberOfSegments()).isEqualTo(1);
        assertThat(log.append(batch(2, 0), 1).firstOffset()).isEqualTo(500);
        log.close();
        log = PartitionLog.open(dir, CONFIG, clock);
        assertThat(log.logStartOffset()).isEqualTo(500);
        assertThat(log.logEndOffset()).isEqualTo(502);
    }

    private long findSecondSegmentBase() throws IOException {
        for (long offset = 2; offset < 80; offset += 2) {
            if (java.nio.file.Files.exists(logFile(dir, offset))) {
                return offset;
            }
        }
        throw new AssertionError("no second segment");
    }
}
