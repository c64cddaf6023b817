package io.tributary.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The fixed 61-byte header of a Kafka RecordBatch v2, parsed without kafka-clients. Byte layout (big-endian),
 * offsets from the start of the batch:
 *
 * <pre>
 *  0 baseOffset           int64
 *  8 batchLength          int32   bytes after this field: batch size = batchLength + 12
 * 12 partitionLeaderEpoch int32   (outside the CRC: stamped by the leader)
 * 16 magic                int8    always 2 here
 * 17 crc                  uint32  CRC-32C of bytes [21, batch size)
 * 21 attributes           int16   bits 0-2 compression, 3 timestampType, 4 transactional, 5 control
 * 23 lastOffsetDelta      int32
 * 27 baseTimestamp        int64
 * 35 maxTimestamp         int64
 * 43 producerId           int64   -1 = none
 * 51 producerEpoch        int16
 * 53 baseSequence         int32   -1 = none
 * 57 recordsCount         int32
 * 61 records...
 * </pre>
 *
 * Immutable and thread-safe. {@link #parse} only reads; it does not check the CRC or any rule.
 */
public record RecordBatchHeader(long baseOffset, int batchLength, int partitionLeaderEpoch, byte magic, int crc,
                                short attributes, int lastOffsetDelta, long baseTimestamp, long maxTimestamp,
                                long producerId, short producerEpoch, int baseSequence, int recordsCount) {

    public static final int BASE_OFFSET_OFFSET = 0;
    public static final int BATCH_LENGTH_OFFSET = 8;
    public static final int PARTITION_LEADER_EPOCH_OFFSET = 12;
    public static final int MAGIC_OFFSET = 16;
    public static final int CRC_OFFSET = 17;
    public static final int ATTRIBUTES_OFFSET = 21;
    public static final int LAST_OFFSET_DELTA_OFFSET = 23;
    public static final int BASE_SEQUENCE_OFFSET = 53;
    /** baseOffset + batchLength: the bytes not counted by batchLength. */
    public static final int LOG_OVERHEAD = 12;
    public static final int HEADER_SIZE = 61;
    public static final byte MAGIC_V2 = 2;
    public static final int NO_SEQUENCE = -1;

    private static final int COMPRESSION_MASK = 0x07;
    private static final int TRANSACTIONAL_MASK = 0x10;
    private static final int CONTROL_MASK = 0x20;

    /**
     * Reads the header at absolute {@code position} of {@code buf}, not moving its position.
     *
     * @throws IllegalArgumentException if fewer than {@link #HEADER_SIZE} bytes follow {@code position}
     */
    public static RecordBatchHeader parse(ByteBuffer buf, int position) {
        if (position < 0 || buf.limit() - position < HEADER_SIZE) {
            throw new IllegalArgumentException("Need " + HEADER_SIZE + " bytes at position " + position
                    + ", buffer limit is " + buf.limit());
        }
        return new RecordBatchHeader(
                buf.getLong(position),
                buf.getInt(position + 8),
                buf.getInt(position + 12),
                buf.get(position + 16),
                buf.getInt(position + 17),
                buf.getShort(position + 21),
                buf.getInt(position + 23),
                buf.getLong(position + 27),
                buf.getLong(position + 35),
                buf.getLong(position + 43),
                buf.getShort(position + 51),
                buf.getInt(position + 53),
                buf.getInt(position + 57));
    }

    /** CRC-32C of the batch of {@code sizeInBytes} bytes at absolute {@code position}, as stored at offset 17. */
    public static int computeCrc(ByteBuffer buf, int position, int sizeInBytes) {
        CRC32C crc = new CRC32C();
        ByteBuffer view = buf.duplicate();
        view.limit(position + sizeInBytes).position(position + ATTRIBUTES_OFFSET);
        crc.update(view);
        return (int) crc.getValue();
    }

    /** Whole batch size in bytes: batchLength + 12. */
    public int sizeInBytes() {
        return batchLength + LOG_OVERHEAD;
    }

    public long lastOffset() {
        return baseOffset + lastOffsetDelta;
    }

    public long nextOffset() {
        return lastOffset() + 1;
    }

    /** Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
    public int compressionCodec() {
        return attributes & COMPRESSION_MASK;
    }

    public boolean isTransactional() {
        return (attributes & TRANSACTIONAL_MASK) != 0;
    }

    public boolean isControl() {
        return (attributes & CONTROL_MASK) != 0;
    }

    public boolean hasProducerId() {
        return producerId >= 0;
    }

    /** The sequence of the batch's last record, wrapping to 0 after Integer.MAX_VALUE, as Kafka does. */
    public int lastSequence() {
        return incrementSequence(baseSequence, lastOffsetDelta);
    }

    /** This header with the given base offset and partition leader epoch (both outside the CRC). */
    RecordBatchHeader withBaseOffsetAndEpoch(long newBaseOffset, int newPartitionLeaderEpoch) {
        return new RecordBatchHeader(newBaseOffset, batchLength, newPartitionLeaderEpoch, magic, crc, attributes,
                lastOffsetDelta, baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, recordsCount);
    }

    static int incrementSequence(int sequence, int increment) {
        if (sequence == NO_SEQUENCE) {
            return NO_SEQUENCE;
        }
        if (sequence > Integer.MAX_VALUE - increment) {
            return increment - (Integer.MAX_VALUE - sequence) - 1;
        }
        return sequence + increment;
    }
}
