package io.tributary.node.txn;

import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.record.RecordBatch;

/**
 * The durable state of one transactional id: what a {@link TransactionRecord.MetadataRecord} carries whole, so the
 * latest record of an id is its complete state (log compaction keeps exactly that). Kafka's
 * {@code TransactionMetadata}; the {@code prepare...} methods are its {@code TxnTransitMetadata} builders: pure
 * functions returning the next metadata, which becomes the state only when its record is replayed.
 *
 * @param producerId the producer id the transactional id currently owns
 * @param previousProducerId the producer id before the last transition (differs from {@code producerId} only right
 *     after a rotation to a new producer id; KIP-360 lets a retry of that rotation through); -1 if none
 * @param producerEpoch the current epoch; a request with another epoch is fenced
 * @param lastProducerEpoch the epoch before the last KIP-360 bump, so a retried InitProducerId gets the same answer;
 *     -1 when a fresh producer or a fence reset it (unlike Kafka, persisted, so such a retry survives a fail-over)
 * @param partitions the partitions in the transaction (sorted by topic, then partition); empty unless Ongoing or
 *     Prepare*
 * @param txnStartTimestampMs when the current transaction became Ongoing; -1 before the first one
 * @param txnLastUpdateTimestampMs when this state was decided (expiration counts from it)
 */
public record TransactionMetadata(String transactionalId, long producerId, long previousProducerId, short producerEpoch,
        short lastProducerEpoch, int txnTimeoutMs, TransactionState state, Set<TopicPartition> partitions,
        long txnStartTimestampMs, long txnLastUpdateTimestampMs) {

    /** Kafka's order of partitions in a transaction record: by topic, then partition. */
    public static final Comparator<TopicPartition> PARTITION_ORDER = Comparator.comparing(TopicPartition::topic)
            .thenComparingInt(TopicPartition::partition);

    public TransactionMetadata {
        Objects.requireNonNull(transactionalId);
        Objects.requireNonNull(state);
        require(!transactionalId.isEmpty(), "empty transactional id");
        require(producerId >= 0, "producerId >= 0");
        require(previousProducerId >= -1, "previousProducerId >= -1");
        require(producerEpoch >= 0, "producerEpoch >= 0");
        require(lastProducerEpoch >= -1, "lastProducerEpoch >= -1");
        require(txnTimeoutMs > 0, "txnTimeoutMs > 0");
        require(state.isDurable(), "a durable state, not " + state.kafkaName());
        require(txnStartTimestampMs >= -1 && txnLastUpdateTimestampMs >= 0, "timestamps");
        SortedSet<TopicPartition> sorted = new TreeSet<>(PARTITION_ORDER);
        sorted.addAll(partitions);
        require(sorted.isEmpty() || state == TransactionState.ONGOING || state.isPrepare(),
                "partitions only while Ongoing or Prepare*");
        partitions = Collections.unmodifiableSortedSet(sorted);
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new IllegalArgumentException("invalid transaction metadata: " + what);
        }
    }

    /** Kafka's {@code isEpochExhausted}: the epoch cannot be bumped once more and then fenced once more. */
    public static boolean isEpochExhausted(short epoch) {
        return epoch >= Short.MAX_VALUE - 1;
    }

    public boolean isProducerEpochExhausted() {
        return isEpochExhausted(producerEpoch);
    }

    /** A copy with the given fields; the rest carried over (previousProducerId becomes the current producer id). */
    private TransactionMetadata next(long newProducerId, short newEpoch, short newLastEpoch, int newTimeoutMs,
            TransactionState newState, Set<TopicPartition> newPartitions, long newStartMs, long nowMs) {
        state.checkTransitionTo(newState);
        return new TransactionMetadata(transactionalId, newProducerId, producerId, newEpoch, newLastEpoch,
                newTimeoutMs, newState, newPartitions, newStartMs, nowMs);
    }

    /** The first state of a new transactional id: Empty at epoch 0 (Kafka: created at -1, then bumped). */
    static TransactionMetadata created(String transactionalId, long producerId, int txnTimeoutMs, long nowMs) {
        return new TransactionMetadata(transactionalId, producerId, RecordBatch.NO_PRODUCER_ID, (short) 0,
                RecordBatch.NO_PRODUCER_EPOCH, txnTimeoutMs, TransactionState.EMPTY, Set.of(), -1, nowMs);
    }

    /**
     * InitProducerId on an idle id whose epoch is not exhausted (Kafka's {@code prepareIncrementProducerEpoch}).
     * Returns null when the expected epoch is fenced. The caller rotates the producer id instead of bumping an
     * exhausted epoch; a retry or a fenced request may still come here with one.
     *
     * @param expectedEpoch the epoch the producer holds (KIP-360), or -1 when it gave none
     */
    TransactionMetadata prepareIncrementProducerEpoch(int newTimeoutMs, short expectedEpoch, long nowMs) {
        boolean bump = expectedEpoch == RecordBatch.NO_PRODUCER_EPOCH || expectedEpoch == producerEpoch;
        if (bump && isProducerEpochExhausted()) {
            throw new IllegalStateException("cannot bump exhausted epoch " + producerEpoch + " of " + transactionalId);
        }
        short nextEpoch;
        short lastEpoch;
        if (expectedEpoch == RecordBatch.NO_PRODUCER_EPOCH) {
            nextEpoch = (short) (producerEpoch + 1); // a new producer instance: fence every older one
            lastEpoch = RecordBatch.NO_PRODUCER_EPOCH;
        } else if (expectedEpoch == producerEpoch) {
            nextEpoch = (short) (producerEpoch + 1); // the current producer recovers from an abortable error (KIP-360)
            lastEpoch = producerEpoch;
        } else if (expectedEpoch == lastProducerEpoch) {
            nextEpoch = producerEpoch; // a retry of a bump whose answer was lost: same answer again
            lastEpoch = lastProducerEpoch;
        } else {
            return null;
        }
        return next(producerId, nextEpoch, lastEpoch, newTimeoutMs, TransactionState.EMPTY, Set.of(), -1, nowMs);
    }

    /** InitProducerId once the epoch is exhausted: a new producer id at epoch 0 (Kafka's prepareProducerIdRotation). */
    TransactionMetadata prepareProducerIdRotation(long newProducerId, int newTimeoutMs, boolean recordLastEpoch,
            long nowMs) {
        return next(newProducerId, (short) 0, recordLastEpoch ? producerEpoch : RecordBatch.NO_PRODUCER_EPOCH,
                newTimeoutMs, TransactionState.EMPTY, Set.of(), -1, nowMs);
    }

    /** AddPartitionsToTxn: Ongoing with the union; a new transaction starts its clock now. */
    TransactionMetadata prepareAddPartitions(Collection<TopicPartition> added, long nowMs) {
        Set<TopicPartition> union = new TreeSet<>(PARTITION_ORDER);
        union.addAll(partitions);
        union.addAll(added);
        long startMs = state == TransactionState.ONGOING ? txnStartTimestampMs : nowMs;
        return next(producerId, producerEpoch, lastProducerEpoch, txnTimeoutMs, TransactionState.ONGOING, union,
                startMs, nowMs);
    }

    /** EndTxn: PrepareCommit or PrepareAbort, same epoch. */
    TransactionMetadata prepareAbortOrCommit(TransactionState prepare, long nowMs) {
        if (!prepare.isPrepare()) {
            throw new IllegalArgumentException("not a prepare state: " + prepare);
        }
        return next(producerId, producerEpoch, lastProducerEpoch, txnTimeoutMs, prepare, partitions,
                txnStartTimestampMs, nowMs);
    }

    /**
     * Aborts the Ongoing transaction with the epoch bumped, so the producer that began it is fenced (Kafka's
     * {@code prepareFenceProducerEpoch} followed by its PrepareAbort in one record; lastProducerEpoch reset).
     */
    TransactionMetadata prepareFenceAndAbort(long nowMs) {
        if (producerEpoch == Short.MAX_VALUE) {
            // Unreachable: producers get at most MAX_VALUE - 1 (isEpochExhausted), so an Ongoing epoch is below MAX.
            throw new IllegalStateException("cannot fence epoch " + producerEpoch + " of " + transactionalId);
        }
        state.checkTransitionTo(TransactionState.PREPARE_EPOCH_FENCE); // then PrepareEpochFence -> PrepareAbort
        return next(producerId, (short) (producerEpoch + 1), RecordBatch.NO_PRODUCER_EPOCH, txnTimeoutMs,
                TransactionState.PREPARE_ABORT, partitions, txnStartTimestampMs, nowMs);
    }

    /** Every marker written: CompleteCommit or CompleteAbort, partitions cleared (Kafka's prepareComplete). */
    TransactionMetadata prepareComplete(long nowMs) {
        TransactionState complete = switch (state) {
            case PREPARE_COMMIT -> TransactionState.COMPLETE_COMMIT;
            case PREPARE_ABORT -> TransactionState.COMPLETE_ABORT;
            default -> throw new IllegalStateException("complete from " + state.kafkaName());
        };
        return next(producerId, producerEpoch, lastProducerEpoch, txnTimeoutMs, complete, Set.of(),
                txnStartTimestampMs, nowMs);
    }
}
