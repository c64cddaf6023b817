package io.tributary.storage;

import static io.tributary.storage.TestBatches.SMALL;
import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.bytes;
import static io.tributary.storage.TestBatches.concat;
import static io.tributary.storage.TestBatches.parse;
import static io.tributary.storage.TestBatches.recordOffsets;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;

import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppendAndReadTest {
    @TempDir
    Path dir;
    TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(dir.resolve("t-0"), LogConfig.DEFAULTS, clock);
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void storesBatchesByteExactExceptStampedOffsetAndEpoch() throws IOException {
        // Given a batch built by kafka-clients with base offset 0 and epoch -1
        ByteBuffer sent = batch(3, 5000);
        byte[] original = bytes(sent);
        log.append(batch(2, 4000), 7);

        // When it is appended at offset 2 with leader epoch 9
        LogAppendResult result = log.append(sent, 9);

        // Then the stored bytes equal the sent bytes except offset (bytes 0-7) and epoch (12-15)
        assertThat(result).isEqualTo(new LogAppendResult(2, 4, 5002, -1, false));
        ByteBuffer stored = log.read(2, 1 << 20, Long.MAX_VALUE).records();
        byte[] storedBytes = bytes(stored);
        assertThat(storedBytes).hasSameSizeAs(original);
        assertThat(Arrays.copyOfRange(storedBytes, 16, storedBytes.length))
                .isEqualTo(Arrays.copyOfRange(original, 16, original.length));
        assertThat(Arrays.copyOfRange(storedBytes, 8, 12)).isEqualTo(Arrays.copyOfRange(original, 8, 12));
        RecordBatch parsed = parse(stored).get(0);
        assertThat(parsed.baseOffset()).isEqualTo(2);
        assertThat(parsed.partitionLeaderEpoch()).isEqualTo(9);
        assertThat(parsed.isValid()).isTrue();
        // and the caller's buffer was stamped in place without moving its position
        assertThat(sent.position()).isZero();
        assertThat(sent.getLong(0)).isEqualTo(2);
    }

    @Test
    void assignsContinuousOffsetsAcrossAppendsAndBatchesOfOneAppend() throws IOException {
        log.append(batch(3, 1000), 0);
        LogAppendResult multi = log.append(concat(batch(2, 2000), batch(4, 3000), batch(1, 4000)), 0);
        log.append(batch(5, 5000), 1);

        assertThat(multi.firstOffset()).isEqualTo(3);
        assertThat(multi.lastOffset()).isEqualTo(9);
        assertThat(multi.maxTimestamp()).isEqualTo(4000);
        assertThat(log.logEndOffset()).isEqualTo(15);
        ByteBuffer all = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records();
        assertThat(recordOffsets(all)).containsExactlyElementsOf(LongStream.range(0, 15).boxed().toList());
        assertThat(parse(all)).extracting(RecordBatch::baseOffset).containsExactly(0L, 3L, 5L, 9L, 10L);
    }

    @Test
    void readStartsAtTheBatchContainingTheOffset() throws IOException {
        log.append(batch(5, 1000), 0);
        log.append(batch(5, 2000), 0);

        List<RecordBatch> batches = parse(log.read(7, Integer.MAX_VALUE, Long.MAX_VALUE).records());

        assertThat(batches).extracting(RecordBatch::baseOffset).containsExactly(5L);
    }

    @Test
    void readStopsBeforeMaxBytesWouldBeExceeded() throws IOException {
        int batchSize = batch(2, 0).remaining();
        for (int i = 0; i < 5; i++) {
            log.append(batch(2, i), 0);
        }

        LogReadResult exact = log.read(0, 2 * batchSize, Long.MAX_VALUE);
        LogReadResult oneShort = log.read(0, 3 * batchSize - 1, Long.MAX_VALUE);

        assertThat(parse(exact.records())).hasSize(2);
        assertThat(parse(oneShort.records())).hasSize(2);
        assertThat(exact.records().remaining()).isEqualTo(2 * batchSize);
        assertThat(exact.logStartOffset()).isZero();
        assertThat(exact.logEndOffset()).isEqualTo(10);
    }

    @Test
    void returnsTheFirstBatchEvenWhenLargerThanMaxBytes() throws IOException {
        log.append(batch(10, 0), 0);
        log.append(batch(1, 0), 0);

        LogReadResult result = log.read(3, 1, Long.MAX_VALUE);
        // a budget holding the first batch's header but not the batch
        LogReadResult headerOnly = log.read(3, RecordBatchHeader.HEADER_SIZE + 1, Long.MAX_VALUE);
        LogReadResult none = log.read(3, 0, Long.MAX_VALUE);

        assertThat(parse(result.records())).extracting(RecordBatch::baseOffset).containsExactly(0L);
        assertThat(parse(headerOnly.records())).extracting(RecordBatch::baseOffset).containsExactly(0L);
        assertThat(parse(none.records())).extracting(RecordBatch::baseOffset).containsExactly(0L);
        assertThat(headerOnly.records().remaining()).isEqualTo(batch(10, 0).remaining());
    }

    @Test
    void neverReturnsABatchReachingMaxOffsetExclusive() throws IOException {
        log.append(batch(3, 0), 0); // 0..2
        log.append(batch(3, 0), 0); // 3..5
        log.append(batch(3, 0), 0); // 6..8

        assertThat(parse(log.read(0, Integer.MAX_VALUE, 6).records()))
                .extracting(RecordBatch::baseOffset).containsExactly(0L, 3L);
        assertThat(parse(log.read(0, Integer.MAX_VALUE, 5).records()))
                .extracting(RecordBatch::baseOffset).containsExactly(0L);
        // the first-batch rule does not override the high watermark
        assertThat(log.read(3, 0, 5).records().remaining()).isZero();
        assertThat(log.read(0, Integer.MAX_VALUE, 0).records().remaining()).isZero();
    }

    @Test
    void readAtLogEndOffsetIsEmptyAndBeyondIsOutOfRange() throws IOException {
        log.append(batch(3, 0), 0);

        LogReadResult atEnd = log.read(3, 1000, Long.MAX_VALUE);

        assertThat(atEnd.records().remaining()).isZero();
        assertThat(atEnd.logEndOffset()).isEqualTo(3);
        assertThatThrownBy(() -> log.read(4, 1000, Long.MAX_VALUE))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.OFFSET_OUT_OF_RANGE));
        assertThatThrownBy(() -> log.read(-1, 1000, Long.MAX_VALUE))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.OFFSET_OUT_OF_RANGE));
    }

    @Test
    void readSpansSegments() throws IOException {
        log.updateConfig(SMALL);
        for (int i = 0; i < 60; i++) {
            log.append(batch(4, i), 0);
        }
        assertThat(log.numberOfSegments()).isGreaterThanOrEqualTo(3);

        ByteBuffer all = log.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records();

        assertThat(recordOffsets(all)).containsExactlyElementsOf(LongStream.range(0, 240).boxed().toList());
        assertThat(all.remaining()).isEqualTo((int) log.sizeInBytes());
    }

    @Test
    void aBudgetEndingInsideALaterSegmentReturnsTheWholeBatchesBeforeIt() throws IOException {
        log.updateConfig(SMALL);
        for (int i = 0; i < 60; i++) {
            log.append(batch(4, i), 0);
        }
        int batchSize = batch(4, 0).remaining();
        long secondSegment = log.segmentBaseOffsets().get(1);
        long from = secondSegment - 8; // two batches before the second segment starts

        ByteBuffer read = log.read(from, 5 * batchSize - 1, Long.MAX_VALUE).records();
        ByteBuffer belowLimit = log.read(from, 5 * batchSize - 1, secondSegment + 4).records();

        assertThat(recordOffsets(read)).as("2 batches of the first segment, 2 of the second")
                .containsExactlyElementsOf(LongStream.range(from, from + 16).boxed().toList());
        assertThat(read.remaining()).isEqualTo(4 * batchSize);
        assertThat(recordOffsets(belowLimit)).containsExactlyElementsOf(
                LongStream.range(from, secondSegment + 4).boxed().toList());
    }

    @Test
    void aBatchLengthNoBatchCanHaveIsReportedAsCorruptNotLoopedOn() throws IOException {
        int second = batch(2, 0).remaining(); // where the second batch starts
        for (int i = 0; i < 3; i++) {
            log.append(batch(2, 0), 0);
        }
        Path segment = dir.resolve("t-0").resolve(LogSegment.fileName(0, LogSegment.LOG_SUFFIX));
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(segment,
                java.nio.file.StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.allocate(4).putInt(0, 0), second + RecordBatchHeader.BATCH_LENGTH_OFFSET);
        }

        assertThatThrownBy(() -> log.read(0, 1 << 20, Long.MAX_VALUE))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.CORRUPT_MESSAGE));
        // a budget smaller than a header reads the first batch's header on its own: checked the same way
        assertThatThrownBy(() -> log.read(2, 10, Long.MAX_VALUE))
                .isInstanceOfSatisfying(LogException.class,
                        e -> assertThat(e.error()).isEqualTo(LogError.CORRUPT_MESSAGE));
    }

    @Test
    void readOnlyBuffersAreCopiedNotRejected() throws IOException {
        ByteBuffer readOnly = batch(2, 0).asReadOnlyBuffer();
        log.append(batch(1, 0), 0);

        LogAppendResult result = log.append(readOnly, 3);

        assertThat(result.firstOffset()).isEqualTo(1);
        assertThat(parse(log.read(1, 1000, Long.MAX_VALUE).records()).get(0).baseOffset()).isEqualTo(1);
    }
}
