package io.tributary.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link PartitionLog#readSlice}, the zero-copy read behind consumers' fetches: the same bytes {@link PartitionLog#read}
 * copies, as a slice of one segment file on a read handle that is not the log's, within one segment, bounded as a read
 * is; still readable after retention deleted its segment; copied instead when the slices are at their bound; slices
 * of the active segment share one handle, closed once the segment is rolled and the last slice released.
 */
class ReadSliceTest {
    @TempDir
    Path dir;
    private final TestBatches.MutableClock clock = new TestBatches.MutableClock(1_000_000);
    private final FileSlices slices = new FileSlices(4);
    private PartitionLog log;

    @BeforeEach
    void open() throws IOException {
        // 4 KiB segments of ~1 KiB batches (10 records of 100 bytes): several batches per segment, several segments
        log = PartitionLog.open(dir.resolve("t-0"), TestBatches.SMALL, clock);
        for (int i = 0; i < 20; i++) {
            log.append(TestBatches.batch(org.apache.kafka.common.compress.Compression.NONE, 10, 1_000 + i, 100), 0);
        }
        assertThat(log.numberOfSegments()).isGreaterThan(3);
    }

    @AfterEach
    void close() throws IOException {
        log.close();
        assertThat(slices.openCount()).as("every slice closed").isZero();
    }

    @Test
    void aSliceHoldsTheBytesAReadCopiesUpToTheEndOfItsSegment() throws IOException {
        long secondSegment = log.segmentBaseOffsets().get(1);
        for (long offset : new long[] {0, 15, secondSegment, secondSegment + 3}) {
            LogSliceRead slice = log.readSlice(offset, 1 << 20, Long.MAX_VALUE, slices);
            byte[] sliced = bytesOf(slice);
            // the copying read of the same range: it continues into later segments, the slice stops at its end
            byte[] copied = bytes(log.read(offset, sliced.length, Long.MAX_VALUE).records());
            assertThat(sliced).as("offset %d", offset).isEqualTo(copied);
            long segmentEnd = log.segmentBaseOffsets().stream().filter(b -> b > offset).findFirst().orElseThrow();
            assertThat(slice.lastOffset()).as("stops at its segment's end").isEqualTo(segmentEnd - 1);
            assertThat(slice.recordCount()).isEqualTo(slice.lastOffset() - firstBatchBase(offset) + 1);
            slice.slice().release();
        }
    }

    @Test
    void aSliceIsBoundedByMaxBytesExceptItsFirstBatchAndByTheGivenOffset() throws IOException {
        LogSliceRead one = log.readSlice(0, 1, Long.MAX_VALUE, slices);
        assertThat(one.lastOffset()).as("KIP-74: the first batch even if larger").isEqualTo(9);
        one.slice().release();

        LogSliceRead belowHighWatermark = log.readSlice(0, 1 << 20, 20, slices);
        assertThat(belowHighWatermark.lastOffset()).isEqualTo(19);
        belowHighWatermark.slice().release();

        LogSliceRead atTheBound = log.readSlice(20, 1 << 20, 20, slices);
        assertThat(atTheBound.sizeInBytes()).isZero();
        assertThat(atTheBound.slice()).isNull();
        assertThatThrownBy(() -> log.readSlice(log.logEndOffset() + 1, 100, Long.MAX_VALUE, slices))
                .isInstanceOf(LogException.class);
    }

    @Test
    void aSliceStaysReadableAfterRetentionDeletesItsSegment() throws IOException {
        LogSliceRead slice = log.readSlice(0, 1 << 20, Long.MAX_VALUE, slices);
        byte[] before = bytes(log.read(0, slice.sizeInBytes(), Long.MAX_VALUE).records());

        log.advanceLogStartOffset(log.segmentBaseOffsets().get(2));
        assertThat(log.segmentBaseOffsets().get(0)).as("the slice's segment is deleted").isPositive();

        assertThat(bytesOf(slice)).isEqualTo(before);
        slice.slice().release();
    }

    @Test
    void pastTheBoundOfOpenSlicesAReadCopies() throws IOException {
        LogSliceRead[] open = new LogSliceRead[4];
        for (int i = 0; i < open.length; i++) {
            open[i] = log.readSlice(0, 1 << 20, Long.MAX_VALUE, slices);
        }
        assertThat(slices.openCount()).isEqualTo(4);

        LogSliceRead copied = log.readSlice(0, 1 << 20, Long.MAX_VALUE, slices);
        assertThat(copied.slice()).isNull();
        assertThat(bytes(copied.copied())).isEqualTo(bytesOf(open[0]));
        for (LogSliceRead read : open) {
            read.slice().release();
            read.slice().release(); // a second release does nothing
        }
        assertThat(slices.opened()).isEqualTo(4);
    }

    @Test
    void slicesOfTheActiveSegmentShareOneHandleUntilItIsRolled() throws IOException {
        long active = log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1);
        long filesBefore = slices.filesOpened();
        LogSliceRead first = log.readSlice(active, 1 << 20, Long.MAX_VALUE, slices);
        first.slice().release();
        LogSliceRead second = log.readSlice(active, 1 << 20, Long.MAX_VALUE, slices);
        LogSliceRead third = log.readSlice(active, 1 << 20, Long.MAX_VALUE, slices);
        assertThat(slices.filesOpened() - filesBefore).as("one handle for every slice of the active segment")
                .isEqualTo(1);
        assertThat(second.slice().channel()).isSameAs(third.slice().channel());
        byte[] before = bytesOf(second);

        // roll past it, then let retention delete it: the slices still out keep the shared handle readable
        while (log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1) == active) {
            log.append(TestBatches.batch(org.apache.kafka.common.compress.Compression.NONE, 10, 2_000, 100), 0);
        }
        LogSliceRead afterRoll = log.readSlice(active, 1 << 20, Long.MAX_VALUE, slices);
        assertThat(slices.filesOpened() - filesBefore).as("a rolled segment's slice gets a handle of its own")
                .isEqualTo(2);
        assertThat(afterRoll.slice().channel()).isNotSameAs(second.slice().channel());
        log.advanceLogStartOffset(log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1));
        assertThat(log.segmentBaseOffsets()).doesNotContain(active);
        assertThat(bytesOf(second)).isEqualTo(before);

        second.slice().release();
        assertThat(third.slice().channel().isOpen()).as("open while a slice holds it").isTrue();
        third.slice().release();
        assertThat(third.slice().channel().isOpen()).as("closed with the last slice of a rolled segment").isFalse();
        afterRoll.slice().release();
        assertThat(afterRoll.slice().channel().isOpen()).isFalse();
    }

    @Test
    void theActiveSegmentsSharedHandleClosesWithTheLog() throws IOException {
        long active = log.segmentBaseOffsets().get(log.segmentBaseOffsets().size() - 1);
        LogSliceRead read = log.readSlice(active, 1 << 20, Long.MAX_VALUE, slices);
        read.slice().release();
        assertThat(read.slice().channel().isOpen()).as("kept by the active segment").isTrue();
        log.close();
        assertThat(read.slice().channel().isOpen()).isFalse();
    }

    /**
     * Batches of mixed sizes (so that the offset index, one entry per 1 KiB, holds some batch starts and skips
     * others): every slice, from any offset, with any byte and offset bound, before and after a reopen (index read
     * back from its file), is the longest run of whole batches of its segment within the bounds, as a scan of every
     * header finds it.
     */
    @Test
    void aSliceIsTheLongestRunOfWholeBatchesWithinItsBoundsWhereverTheIndexPointsTo() throws IOException {
        java.util.Random random = new java.util.Random(16);
        LogConfig config = new LogConfig(64 * 1024, 3_600_000, -1, -1, 1_048_588, 1024, 4096);
        Path mixedDir = dir.resolve("mixed-0");
        PartitionLog mixed = PartitionLog.open(mixedDir, config, clock);
        try {
            for (int i = 0; i < 200; i++) {
                mixed.append(TestBatches.batch(org.apache.kafka.common.compress.Compression.NONE,
                        1 + random.nextInt(20), 1_000 + i, 10 + random.nextInt(200)), 0);
            }
            assertThat(mixed.numberOfSegments()).isGreaterThan(1);
            checkSlices(mixed, random);
            mixed.close();
            mixed = PartitionLog.open(mixedDir, config, clock);
            checkSlices(mixed, random);
        } finally {
            mixed.close();
        }
    }

    private void checkSlices(PartitionLog log, java.util.Random random) throws IOException {
        long end = log.logEndOffset();
        for (int i = 0; i < 2_000; i++) {
            long offset = random.nextInt((int) end);
            int maxBytes = random.nextInt(4) == 0 ? 1 << 20 : random.nextInt(20_000);
            long limit = random.nextInt(3) == 0 ? Long.MAX_VALUE : offset + 1 + random.nextInt((int) (end - offset));
            LogSliceRead slice = log.readSlice(offset, maxBytes, limit, slices);
            // the reference: every batch from the one holding offset, read by the copying read, walked header by
            // header: while in the same segment, below the limit and (after the first) within maxBytes
            ByteBuffer all = log.read(offset, Integer.MAX_VALUE, Long.MAX_VALUE).records();
            long segmentEnd = log.segmentBaseOffsets().stream().filter(b -> b > offset).findFirst()
                    .orElse(Long.MAX_VALUE);
            int pos = all.position();
            int length = 0;
            long lastOffset = -1;
            long records = 0;
            while (pos < all.limit()) {
                RecordBatchHeader header = RecordBatchHeader.parse(all, pos);
                if (header.baseOffset() >= segmentEnd || header.lastOffset() >= limit
                        || (length > 0 && length + (long) header.sizeInBytes() > maxBytes)) {
                    break;
                }
                length += header.sizeInBytes();
                lastOffset = header.lastOffset();
                records += header.lastOffset() - header.baseOffset() + 1;
                pos += header.sizeInBytes();
            }
            String what = "offset " + offset + ", maxBytes " + maxBytes + ", limit " + limit;
            assertThat(slice.sizeInBytes()).as(what).isEqualTo(length);
            assertThat(slice.lastOffset()).as(what).isEqualTo(lastOffset);
            assertThat(slice.recordCount()).as(what).isEqualTo(records);
            if (slice.slice() != null) {
                byte[] expected = new byte[length];
                all.duplicate().get(expected);
                assertThat(bytesOf(slice)).as(what).isEqualTo(expected);
                slice.slice().release();
            }
        }
    }

    private long firstBatchBase(long offset) {
        return offset - offset % 10; // batches of 10 records from offset 0
    }

    private static byte[] bytesOf(LogSliceRead read) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(read.sizeInBytes());
        FileSlice slice = read.slice();
        while (buffer.hasRemaining()) {
            int n = slice.channel().read(buffer, slice.position() + buffer.position());
            assertThat(n).isPositive();
        }
        return buffer.array();
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.remaining()];
        buffer.duplicate().get(out);
        return out;
    }
}
