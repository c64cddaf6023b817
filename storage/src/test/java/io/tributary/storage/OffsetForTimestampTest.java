package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

import org.apache.kafka.common.compress.Compression;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OffsetForTimestampTest {
    @TempDir
    Path dir;
    PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(dir, new LogConfig(2048, 3_600_000, -1, -1, 1_048_588, 128, 4096),
                new TestBatches.MutableClock(0));
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void findsTheRecordInsideACompressedMultiRecordBatch() throws IOException {
        // Given offsets 0..9 at 1000..1009 (plain), 10..59 at 2000..2049 (gzip), 60..109 at 3000..3049 (lz4)
        log.append(batch(10, 1000), 0);
        log.append(batch(Compression.gzip().build(), 50, 2000, 50), 0);
        log.append(batch(Compression.lz4().build(), 50, 3000, 50), 0);

        assertThat(log.offsetForTimestamp(2017)).contains(new TimestampOffset(2017, 27));
        assertThat(log.offsetForTimestamp(3049)).contains(new TimestampOffset(3049, 109));
        // a timestamp between records answers the next record, with that record's timestamp
        assertThat(log.offsetForTimestamp(1500)).contains(new TimestampOffset(2000, 10));
        assertThat(log.offsetForTimestamp(0)).contains(new TimestampOffset(1000, 0));
        assertThat(log.offsetForTimestamp(3050)).isEmpty();
    }

    @Test
    void searchesAcrossManySegmentsUsingTheTimeIndex() throws IOException {
        for (int i = 0; i < 200; i++) {
            log.append(batch(Compression.gzip().build(), 5, 10_000 + 10L * i, 20), 0);
        }
        assertThat(log.numberOfSegments()).isGreaterThan(3);

        for (int i = 0; i < 200; i += 13) {
            long ts = 10_000 + 10L * i + 3;
            assertThat(log.offsetForTimestamp(ts)).contains(new TimestampOffset(ts, 5L * i + 3));
            // a timestamp just after a batch's records lands on the next batch's first record
            assertThat(log.offsetForTimestamp(ts + 2)).contains(new TimestampOffset(ts + 7, 5L * i + 5));
        }
    }

    @Test
    void returnsTheFirstOffsetWhenTimestampsAreNotMonotonic() throws IOException {
        log.append(batch(2, 5000), 0); // 0,1 at 5000,5001
        log.append(batch(2, 1000), 0); // 2,3 at 1000,1001
        log.append(batch(2, 6000), 0); // 4,5

        assertThat(log.offsetForTimestamp(1001)).contains(new TimestampOffset(5000, 0));
        assertThat(log.offsetForTimestamp(5500)).contains(new TimestampOffset(6000, 4));
    }

    @Test
    void respectsMaxOffsetExclusive() throws IOException {
        log.append(batch(2, 1000), 0);
        log.append(batch(2, 2000), 0);

        assertThat(log.offsetForTimestamp(2000, 2)).isEqualTo(Optional.empty());
        assertThat(log.offsetForTimestamp(2000, 4)).contains(new TimestampOffset(2000, 2));
    }

    @Test
    void maxTimestampFindsTheFirstRecordWithTheLargestTimestampAcrossSegments() throws IOException {
        // Given: an empty log has none
        assertThat(log.offsetOfMaxTimestamp()).isEmpty();
        // Given: the largest timestamp (9000) first at offset 51, in an early segment, and again at 104
        for (int i = 0; i < 10; i++) {
            log.append(batch(Compression.NONE, 5, 1000 + i, 200), 0); // offsets 0..49
        }
        log.append(batch(2, 8999), 0);  // 50, 51 at 8999, 9000
        for (int i = 0; i < 10; i++) {
            log.append(batch(Compression.NONE, 5, 2000 + i, 200), 0);
        }
        log.append(batch(3, 8998), 0);  // 102..104 at 8998, 8999, 9000
        assertThat(log.numberOfSegments()).isGreaterThan(2);

        // When / Then: offset 51, the first record stamped 9000
        assertThat(log.offsetOfMaxTimestamp()).contains(new TimestampOffset(9000, 51));
    }
}
