package io.tributary.storage;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks RecordBatch v2 bytes, both for appends (throwing {@link LogException}) and for recovery (returning the
 * reason a stored batch is not valid). Pure functions: no state, any thread.
 */
final class BatchValidator {

    /** Highest compression codec id Kafka defines (zstd). */
    private static final int MAX_COMPRESSION_CODEC = 4;
    /** Bytes a batch header needs before its magic byte can be read. */
    private static final int MAGIC_END = RecordBatchHeader.MAGIC_OFFSET + 1;

    private BatchValidator() {
    }

    /**
     * Validates every batch in {@code buf} between its position and limit, without changing either.
     *
     * @return the headers in order (offsets as sent by the client, not yet assigned)
     * @throws LogException on the first invalid batch; the caller must append nothing
     */
    static List<RecordBatchHeader> validateAppend(ByteBuffer buf, int maxMessageBytes, long segmentBytes) {
        int start = buf.position();
        int end = buf.limit();
        if (end - start == 0) {
            throw new LogException(LogError.INVALID_RECORD, "Append has no record batches");
        }
        if (end - start > segmentBytes) {
            throw new LogException(LogError.RECORD_LIST_TOO_LARGE, "Append of " + (end - start)
                    + " bytes is larger than " + LogConfig.SEGMENT_BYTES + "=" + segmentBytes);
        }
        List<RecordBatchHeader> headers = new ArrayList<>();
        int pos = start;
        while (pos < end) {
            int remaining = end - pos;
            if (remaining < MAGIC_END) {
                throw new LogException(LogError.CORRUPT_MESSAGE, "Truncated batch at byte " + (pos - start)
                        + ": " + remaining + " bytes left");
            }
            byte magic = buf.get(pos + RecordBatchHeader.MAGIC_OFFSET);
            if (magic != RecordBatchHeader.MAGIC_V2) {
                throw new LogException(LogError.UNSUPPORTED_MAGIC, "Batch at byte " + (pos - start) + " has magic "
                        + magic + ", only magic 2 is supported");
            }
            String problem = checkBatch(buf, pos, remaining);
            if (problem != null) {
                throw new LogException(LogError.CORRUPT_MESSAGE, "Batch at byte " + (pos - start) + ": " + problem);
            }
            RecordBatchHeader header = RecordBatchHeader.parse(buf, pos);
            if (header.sizeInBytes() > maxMessageBytes) {
                throw new LogException(LogError.MESSAGE_TOO_LARGE, "Batch of " + header.sizeInBytes()
                        + " bytes is larger than " + LogConfig.MAX_MESSAGE_BYTES + "=" + maxMessageBytes);
            }
            problem = checkRules(header);
            if (problem != null) {
                throw new LogException(LogError.INVALID_RECORD, "Batch at byte " + (pos - start) + ": " + problem);
            }
            headers.add(header);
            pos += header.sizeInBytes();
        }
        return headers;
    }

    /**
     * Checks a stored batch at absolute {@code pos} with {@code remaining} bytes available after it: length sanity,
     * magic, CRC and header rules.
     *
     * @return null if valid, else why not
     */
    static String checkStored(ByteBuffer buf, int pos, int remaining) {
        if (remaining < RecordBatchHeader.HEADER_SIZE) {
            return "only " + remaining + " bytes left, a header needs " + RecordBatchHeader.HEADER_SIZE;
        }
        byte magic = buf.get(pos + RecordBatchHeader.MAGIC_OFFSET);
        if (magic != RecordBatchHeader.MAGIC_V2) {
            return "magic " + magic;
        }
        String problem = checkBatch(buf, pos, remaining);
        if (problem != null) {
            return problem;
        }
        return checkRules(RecordBatchHeader.parse(buf, pos));
    }

    /** Length fields and CRC. */
    private static String checkBatch(ByteBuffer buf, int pos, int remaining) {
        if (remaining < RecordBatchHeader.HEADER_SIZE) {
            return "only " + remaining + " bytes left, a header needs " + RecordBatchHeader.HEADER_SIZE;
        }
        int batchLength = buf.getInt(pos + RecordBatchHeader.BATCH_LENGTH_OFFSET);
        int minLength = RecordBatchHeader.HEADER_SIZE - RecordBatchHeader.LOG_OVERHEAD;
        if (batchLength < minLength) {
            return "batchLength " + batchLength + " is below the header size";
        }
        if (batchLength > remaining - RecordBatchHeader.LOG_OVERHEAD) {
            return "batchLength " + batchLength + " runs past the " + remaining + " bytes given";
        }
        int size = batchLength + RecordBatchHeader.LOG_OVERHEAD;
        int stored = buf.getInt(pos + RecordBatchHeader.CRC_OFFSET);
        int computed = RecordBatchHeader.computeCrc(buf, pos, size);
        if (stored != computed) {
            return "CRC mismatch: stored " + Integer.toUnsignedString(stored) + ", computed "
                    + Integer.toUnsignedString(computed);
        }
        return null;
    }

    private static String checkRules(RecordBatchHeader header) {
        if (header.recordsCount() < 0) {
            return "recordsCount " + header.recordsCount() + " is negative";
        }
        if (header.lastOffsetDelta() < 0) {
            return "lastOffsetDelta " + header.lastOffsetDelta() + " is negative";
        }
        if (header.compressionCodec() > MAX_COMPRESSION_CODEC) {
            return "unknown compression codec " + header.compressionCodec();
        }
        return null;
    }
}
