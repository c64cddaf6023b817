package io.tributary.node.group;

import java.util.Objects;

/**
 * One entry of a {@code __consumer_offsets} partition as a coordinator loads it ({@link GroupCoordinator#load}), in
 * log order: a record at its log offset, written in a producer's transaction or not, or the marker that ends such a
 * transaction. Kafka's coordinator loader hands its shard the same: each record with its offset and its batch's
 * producer id when the batch is transactional, and each end-transaction marker.
 */
public sealed interface GroupLogEntry {

    /** Kafka's {@code RecordBatch.NO_PRODUCER_ID}: the record is not part of a transaction. */
    long NO_PRODUCER_ID = -1L;

    /**
     * A record at {@code recordOffset}; {@code producerId} is the producer of the transactional batch that holds it,
     * or {@link #NO_PRODUCER_ID} for a batch that is not transactional (an idempotent batch's producer id does not
     * count).
     */
    record Data(long recordOffset, long producerId, GroupRecord record) implements GroupLogEntry {
        public Data {
            Objects.requireNonNull(record);
        }

        /** A record of a batch that is not transactional. */
        public Data(long recordOffset, GroupRecord record) {
            this(recordOffset, NO_PRODUCER_ID, record);
        }
    }

    /** A COMMIT ({@code commit}) or ABORT marker ending the transaction of {@code producerId}. */
    record TxnMarker(long producerId, boolean commit) implements GroupLogEntry {
    }
}
