package io.tributary.storage;

import io.tributary.storage.internal.KafkaRecords;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transaction markers: the control batches (one record, key {@code version int16 | type int16}) that end a
 * producer's transaction in a partition, COMMIT or ABORT, written by the partition leader for the transaction
 * coordinator (KIP-98). Built and read with kafka-clients' classes ({@link KafkaRecords}), so the bytes are Kafka's.
 */
public final class TxnMarkers {
    private static final Logger LOG = LoggerFactory.getLogger(TxnMarkers.class);
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
     * What a batch is to the transactions of its producer: an end-transaction marker of {@code type}
     * ({@link #ABORT}, {@link #COMMIT}) from the coordinator of {@code coordinatorEpoch}, or {@link #NOT_A_MARKER}.
     */
    public record Marker(int type, int coordinatorEpoch) {
        public boolean isMarker() {
            return type != NONE;
        }
    }

    public static final Marker NOT_A_MARKER = new Marker(NONE, -1);

    /**
     * The marker of the batch of {@code header} whose bytes start at absolute {@code position} of {@code buf} (the
     * whole batch). Anything else is {@link #NOT_A_MARKER}: a data batch, a batch without a producer id, another kind
     * of control record, and a control batch that cannot be read (logged: such batches could be produced before
     * clients were refused control batches, and must not keep a log from opening or a follower from replicating).
     */
    static Marker read(RecordBatchHeader header, ByteBuffer buf, int position) {
        if (!header.isControl() || !header.hasProducerId()) {
            return NOT_A_MARKER;
        }
        ByteBuffer batch = buf.duplicate();
        batch.limit(position + header.sizeInBytes()).position(position);
        try {
            int[] marker = KafkaRecords.endTxnMarkerOf(batch);
            return marker == null ? NOT_A_MARKER : new Marker(marker[0], marker[1]);
        } catch (RuntimeException e) {
            LOG.warn("Control batch at offset {} of producer {} is not a readable transaction marker; ignored",
                    header.baseOffset(), header.producerId(), e);
            return NOT_A_MARKER;
        }
    }
}
