package io.tributary.storage;

import java.nio.ByteBuffer;

/**
 * The outcome of {@link PartitionLog#readSlice}: whole stored batches of one segment, byte-exact, either as a
 * {@code slice} of its file (the caller {@linkplain FileSlice#release releases} it once sent or dropped) or, when
 * no slice could be had or nothing was read, {@code copied} into memory. Exactly one of the two is non-null.
 *
 * @param slice          the batches in the segment file, or null
 * @param copied         the batches in memory (position 0, limit = size), or null
 * @param sizeInBytes    their size
 * @param recordCount    records in them, by offsets (the gaps compaction left in and between batches count)
 * @param lastOffset     the last offset of the last batch; -1 when none was read
 * @param logStartOffset the log start offset seen by the read
 * @param logEndOffset   the log end offset seen by the read; no returned batch reaches it
 */
public record LogSliceRead(FileSlice slice, ByteBuffer copied, int sizeInBytes, long recordCount, long lastOffset,
        long logStartOffset, long logEndOffset) {

    static LogSliceRead empty(long logStartOffset, long logEndOffset) {
        return new LogSliceRead(null, ByteBuffer.allocate(0), 0, 0, -1, logStartOffset, logEndOffset);
    }
}
