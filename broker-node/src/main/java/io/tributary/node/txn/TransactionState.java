package io.tributary.node.txn;

/**
 * The lifecycle of one transactional id (Kafka's {@code TransactionState}, transactions v1). An enum, not a sealed
 * interface of records (STYLE rule 7), because no state carries data of its own: every field of
 * {@link TransactionMetadata} exists in every state, as in Kafka.
 *
 * <pre>
 * from                          to                 when
 * (none)                        Empty              InitProducerId for a new transactional id (epoch 0)
 * Empty, CompleteCommit,        Empty              InitProducerId: epoch + 1, or a new producer id once the epoch is
 *   CompleteAbort                                  exhausted (KIP-360), or a KIP-360 retry answered again
 * Empty, Ongoing,               Ongoing            AddPartitionsToTxn / AddOffsetsToTxn
 *   CompleteCommit, CompleteAbort
 * Ongoing                       PrepareCommit      EndTxn(commit)
 * Ongoing                       PrepareAbort       EndTxn(abort)
 * Ongoing                       PrepareEpochFence  InitProducerId on an Ongoing transaction, or its timeout: never
 *                                                  written, only pending until its PrepareAbort (epoch + 1) is durable
 * PrepareEpochFence             PrepareAbort       the fencing abort record (epoch + 1, lastProducerEpoch -1)
 * PrepareCommit                 CompleteCommit     every COMMIT marker was written
 * PrepareAbort                  CompleteAbort      every ABORT marker was written
 * Empty, CompleteCommit,        Dead               idle past transactional.id.expiration.ms: the tombstone; the id is
 *   CompleteAbort                                  forgotten once it is durable, so Dead is never stored either
 * </pre>
 *
 * <p>{@link #kafkaName()} is the name DescribeTransactions and ListTransactions report; {@link #id()} is Kafka's
 * state byte, which {@link TransactionRecordCodec} writes.
 */
public enum TransactionState {
    EMPTY(0, "Empty"),
    ONGOING(1, "Ongoing"),
    PREPARE_COMMIT(2, "PrepareCommit"),
    PREPARE_ABORT(3, "PrepareAbort"),
    COMPLETE_COMMIT(4, "CompleteCommit"),
    COMPLETE_ABORT(5, "CompleteAbort"),
    DEAD(6, "Dead"),
    PREPARE_EPOCH_FENCE(7, "PrepareEpochFence");

    private final int id;
    private final String kafkaName;

    TransactionState(int id, String kafkaName) {
        this.id = id;
        this.kafkaName = kafkaName;
    }

    public int id() {
        return id;
    }

    public String kafkaName() {
        return kafkaName;
    }

    /** The state with Kafka's state byte {@code id}, or null. */
    public static TransactionState fromId(int id) {
        for (TransactionState s : values()) {
            if (s.id == id) {
                return s;
            }
        }
        return null;
    }

    /** The state with Kafka's name (exact, as ListTransactions filters are), or null. */
    public static TransactionState fromKafkaName(String name) {
        for (TransactionState s : values()) {
            if (s.kafkaName.equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** True for the states a record may carry: all but the pending-only PrepareEpochFence and Dead. */
    public boolean isDurable() {
        return this != DEAD && this != PREPARE_EPOCH_FENCE;
    }

    /** PrepareCommit or PrepareAbort: markers are being written. */
    public boolean isPrepare() {
        return this == PREPARE_COMMIT || this == PREPARE_ABORT;
    }

    /** Empty, CompleteCommit or CompleteAbort: no transaction in progress (Kafka: may start a new one). */
    public boolean isIdle() {
        return this == EMPTY || this == COMPLETE_COMMIT || this == COMPLETE_ABORT;
    }

    /** Whether the table above allows {@code this -> next} (Kafka's {@code validPreviousStates}). */
    public boolean canTransitionTo(TransactionState next) {
        return switch (next) {
            case EMPTY, DEAD -> isIdle();
            case ONGOING -> isIdle() || this == ONGOING;
            case PREPARE_COMMIT, PREPARE_EPOCH_FENCE -> this == ONGOING;
            case PREPARE_ABORT -> this == ONGOING || this == PREPARE_EPOCH_FENCE;
            case COMPLETE_COMMIT -> this == PREPARE_COMMIT;
            case COMPLETE_ABORT -> this == PREPARE_ABORT;
        };
    }

    /** Fails loudly on a transition the table does not allow: that is a coordinator bug. */
    public TransactionState checkTransitionTo(TransactionState next) {
        if (!canTransitionTo(next)) {
            throw new IllegalStateException("invalid transaction state transition " + kafkaName + " -> "
                    + next.kafkaName);
        }
        return next;
    }
}
