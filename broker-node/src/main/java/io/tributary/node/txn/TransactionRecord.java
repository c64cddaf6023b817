package io.tributary.node.txn;

import java.util.Objects;

/**
 * A state change of the transaction coordinator that must survive a fail-over: the driver appends it to the
 * coordinator's {@code __transaction_state} partition (acks=all) and a new coordinator rebuilds its state from them
 * ({@link TransactionCoordinator#load}). Keyed by transactional id; the latest record of an id is its whole state, so
 * the partition is compacted. {@link TransactionRecordCodec} owns the bytes.
 */
public sealed interface TransactionRecord {

    String transactionalId();

    /** The complete state of a transactional id after a transition (Kafka's TransactionLogValue). */
    record MetadataRecord(TransactionMetadata metadata) implements TransactionRecord {
        public MetadataRecord {
            Objects.requireNonNull(metadata);
        }

        @Override
        public String transactionalId() {
            return metadata.transactionalId();
        }
    }

    /** Forgets an idle transactional id (transactional.id.expiration.ms): Kafka's null-valued record. */
    record Tombstone(String transactionalId) implements TransactionRecord {
        public Tombstone {
            Objects.requireNonNull(transactionalId);
        }
    }
}
