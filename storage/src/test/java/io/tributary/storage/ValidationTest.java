package io.tributary.storage;

import static io.tributary.storage.TestBatches.batch;
import static io.tributary.storage.TestBatches.concat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValidationTest {
    @TempDir
    Path dir;
    PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        log = PartitionLog.open(dir, new LogConfig(1 << 20, 3_600_000, -1, -1, 1000, 4096, 4096),
                new TestBatches.MutableClock(0));
        log.append(batch(2, 0), 0); // offsets 0, 1
    }

    @AfterEach
    void close() throws IOException {
        log.close();
    }

    @Test
    void rejectsABatchWithABadCrc() throws IOException {
        ByteBuffer bad = batch(3, 0);
        bad.put(bad.limit() - 1, (byte) (bad.get(bad.limit() - 1) ^ 1));

        assertRejected(concat(batch(1, 0), bad), LogError.CORRUPT_MESSAGE);
    }

    @Test
    void rejectsAnAttributesChangeBecauseItIsInsideTheCrc() throws IOException {
        ByteBuffer bad = batch(3, 0);
        bad.put(RecordBatchHeader.ATTRIBUTES_OFFSET + 1, (byte) 1); // claims gzip

        assertRejected(bad, LogError.CORRUPT_MESSAGE);
    }

    @Test
    void rejectsMagicOtherThanTwo() throws IOException {
        ByteBuffer v1 = MemoryRecords.withRecords(RecordBatch.MAGIC_VALUE_V1, Compression.NONE,
                TestBatches.records(2, 0, 10)).buffer();

        assertRejected(concat(batch(1, 0), v1), LogError.UNSUPPORTED_MAGIC);
    }

    @Test
    void rejectsABatchLargerThanMaxMessageBytes() throws IOException {
        ByteBuffer big = batch(Compression.NONE, 10, 0, 100);
        assertThat(big.remaining()).isGreaterThan(1000);

        assertRejected(concat(batch(1, 0), big), LogError.MESSAGE_TOO_LARGE);
    }

    @Test
    void rejectsAnAppendLargerThanSegmentBytes() throws IOException {
        log.updateConfig(new LogConfig(200, 3_600_000, -1, -1, 1000, 4096, 4096));

        assertRejected(concat(batch(2, 0), batch(2, 0)), LogError.RECORD_LIST_TOO_LARGE);
    }

    @Test
    void rejectsTruncatedBuffers() throws IOException {
        ByteBuffer whole = concat(batch(1, 0), batch(3, 0));
        ByteBuffer cutInRecords = whole.duplicate().limit(whole.limit() - 5).slice();
        ByteBuffer cutInHeader = whole.duplicate().limit(batch(1, 0).remaining() + 30).slice();
        ByteBuffer cutBeforeMagic = whole.duplicate().limit(batch(1, 0).remaining() + 10).slice();

        assertRejected(cutInRecords, LogError.CORRUPT_MESSAGE);
        assertRejected(cutInHeader, LogError.CORRUPT_MESSAGE);
        assertRejected(cutBeforeMagic, LogError.CORRUPT_MESSAGE);
    }

    @Test
    void rejectsANegativeRecordCount() throws IOException {
        ByteBuffer bad = batch(2, 0);
        bad.putInt(57, -1);
        bad.putInt(RecordBatchHeader.CRC_OFFSET, RecordBatchHeader.computeCrc(bad, 0, bad.remaining()));

        assertRejected(bad, LogError.INVALID_RECORD);
    }

    @Test
    void rejectsAnEmptyAppend() throws IOException {
        assertRejected(ByteBuffer.allocate(0), LogError.INVALID_RECORD);
    }

    private void assertRejected(ByteBuffer append, LogError expected) throws IOException {
        long sizeBefore = log.sizeInBytes();
        long endBefore = log.logEndOffset();

        LogException e = catchThrowableOfType(LogException.class, () -> log.append(append, 5));

        assertThat(e).as("append should fail with %s", expected).isNotNull();
        assertThat(e.error()).isEqualTo(expected);
        assertThat(log.sizeInBytes()).isEqualTo(sizeBefore);
        assertThat(log.logEndOffset()).isEqualTo(endBefore);
        // the log still accepts a valid append at the same offset
        assertThat(log.append(batch(1, 0), 5).firstOffset()).isEqualTo(endBefore);
    }
}
