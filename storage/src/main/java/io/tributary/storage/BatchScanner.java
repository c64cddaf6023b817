package io.tributary.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Walks the batches of a segment file front to back with a read-ahead buffer, so that recovery, index rebuilds
 * and producer-state rebuilds read the file in large sequential chunks instead of one syscall per header.
 * Not thread-safe: one walk, one thread. Bounded: the buffer is {@value #READ_AHEAD_BYTES} bytes, or one batch if
 * a batch is larger (batches are bounded by the segment size).
 */
final class BatchScanner {
    static final int READ_AHEAD_BYTES = 64 * 1024;

    /** Called for each batch that passed the checks, in file order. */
    @FunctionalInterface
    interface Visitor {
        void visit(RecordBatchHeader header, int position) throws IOException;
    }

    /**
     * Where a walk stopped.
     *
     * @param validEndPosition position after the last valid batch
     * @param problem          why the walk stopped before the end, or null if it reached the end
     * @param nextOffset       offset after the last valid batch, or the starting minimum if there was none
     */
    record Result(int validEndPosition, String problem, long nextOffset) {
    }

    private final FileChannel channel;
    private ByteBuffer buffer = ByteBuffer.allocate(READ_AHEAD_BYTES);
    private long bufferStart = -1;

    BatchScanner(FileChannel channel) {
        this.channel = channel;
    }

    /**
     * Visits the batches between {@code fromPosition} and {@code endPosition}, stopping at the first whose length
     * does not fit, whose magic is not 2, whose CRC fails (if {@code verifyCrc}), or whose base offset is below
     * {@code minBaseOffset} or the previous batch's next offset.
     */
    Result walk(int fromPosition, int endPosition, long minBaseOffset, boolean verifyCrc, Visitor visitor)
            throws IOException {
        int pos = fromPosition;
        long expected = minBaseOffset;
        while (pos < endPosition) {
            int remaining = endPosition - pos;
            if (remaining < RecordBatchHeader.HEADER_SIZE) {
                return new Result(pos, remaining + " trailing bytes, less than a batch header", expected);
            }
            ByteBuffer buf = window(pos, RecordBatchHeader.HEADER_SIZE, endPosition);
            int at = (int) (pos - bufferStart);
            int batchLength = buf.getInt(at + RecordBatchHeader.BATCH_LENGTH_OFFSET);
            int minLength = RecordBatchHeader.HEADER_SIZE - RecordBatchHeader.LOG_OVERHEAD;
            if (batchLength < minLength || batchLength > remaining - RecordBatchHeader.LOG_OVERHEAD) {
                return new Result(pos, "batchLength " + batchLength + " does not fit the " + remaining
                        + " bytes left", expected);
            }
            int size = batchLength + RecordBatchHeader.LOG_OVERHEAD;
            String problem;
            if (verifyCrc) {
                buf = window(pos, size, endPosition);
                at = (int) (pos - bufferStart);
                problem = BatchValidator.checkStored(buf, at, size);
            } else {
                byte magic = buf.get(at + RecordBatchHeader.MAGIC_OFFSET);
                problem = magic == RecordBatchHeader.MAGIC_V2 ? null : "magic " + magic;
            }
            if (problem != null) {
                return new Result(pos, problem, expected);
            }
            RecordBatchHeader header = RecordBatchHeader.parse(buf, at);
            if (header.baseOffset() < expected) {
                return new Result(pos, "baseOffset " + header.baseOffset() + " is below " + expected, expected);
            }
            visitor.visit(header, pos);
            expected = header.nextOffset();
            pos += size;
        }
        return new Result(pos, null, expected);
    }

    /** Makes bytes [pos, pos + n) available in the buffer (n <= endPosition - pos) and returns it. */
    private ByteBuffer window(int pos, int n, int endPosition) throws IOException {
        if (bufferStart >= 0 && pos >= bufferStart && pos + (long) n <= bufferStart + buffer.limit()) {
            return buffer;
        }
        if (buffer.capacity() < n) {
            buffer = ByteBuffer.allocate(n);
        }
        int toRead = (int) Math.min(buffer.capacity(), (long) endPosition - pos);
        buffer.clear().limit(toRead);
        DiskIo.readFully(channel, buffer, pos);
        buffer.flip();
        bufferStart = pos;
        return buffer;
    }
}
