package io.tributary.storage;

import io.tributary.storage.internal.KafkaRecords;
import java.nio.ByteBuffer;

/**
 * Transaction markers: the control batches (one record, key {@code version int16 | type int16}) that end a
 * producer's transaction in a partition, COMMIT or ABORT, written by the partition leader for the transaction
 * coordinator (KIP-98). Built and read with kafka-clients' classes ({@link KafkaRecords}), so the bytes are Kafka's.
 */
public final class TxnMarkers {
    /** Not a marker: a data batch, or a control batch of another kind. */
    public static final int NONE = -1;
    /** Kafka's {@code ControlRecordType.ABORT}. */
    public static final int ABORT = 0;
    /** Kafka's {@code ControlRecordType.COMMIT}. */
    public static final int COMMIT = 1;

    private TxnMarkers() {
    }

    /** A marker batch at offset 0 (the append assigns the offset), written at {@code timestampMs}. */
    public static ByteBuffer build(boolean commit, long producerId, short producerEpoch, int coordinatorEpoch,
            long timestampMs) {
        return KafkaRecords.endTxnMarker(commit, producerId, producerEpoch, coordinatorEpoch, timestampMs);
    }

    /**
     * The marker type ({@link #ABORT} or {@link #COMMIT}) of the control batch of {@code header} whose bytes start at
     * absolute {@code position} of {@code buf} (the whole batch), or {@link #NONE} for any other batch.
     *
     * @throws LogException INVALID_RECORD if a control batch has no record or an unreadable key
     */
    static int type(RecordBatchHeader header, ByteBuffer buf, int position) {
        if (!header.isControl()) {
            return NONE;
        }
        ByteBuffer batch = buf.duplicate();
        batch.limit(position + header.sizeInBytes()).position(position);
        int type;
        try {
            type = KafkaRecords.controlType(batch);
        } catch (RuntimeException e) {
            throw new LogException(LogError.INVALID_RECORD, "Unreadable control batch at offset "
                    + header.baseOffset() + ": " + e.getMessage());
        }
        if (type == ABORT || type == COMMIT) {
            return type;
        }
        if (type >= 0) {
            return NONE; // another kind of control record
        }
        throw new LogException(LogError.INVALID_RECORD, "Control batch at offset " + header.baseOffset()
                + " has no control record");
    }
}
