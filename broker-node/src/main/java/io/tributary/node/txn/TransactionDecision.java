package io.tributary.node.txn;

import java.util.List;
import org.apache.kafka.common.protocol.Errors;

/**
 * What a transaction coordinator call decided: the records to append to the {@code __transaction_state} partition
 * and the response to send once they are durable (after {@link TransactionCoordinator#replay} of each). With no
 * records the response is sent at once. State changes only on replay (STYLE rule 6).
 *
 * <p>If the append fails, the driver calls {@link TransactionCoordinator#appendFailed} for each record and sends
 * {@link #clientError} of the append error instead of {@link #response}.
 */
public record TransactionDecision<R>(List<TransactionRecord> records, R response) {

    public TransactionDecision {
        records = List.copyOf(records);
    }

    static <R> TransactionDecision<R> respond(R response) {
        return new TransactionDecision<>(List.of(), response);
    }

    static <R> TransactionDecision<R> append(TransactionRecord record, R response) {
        return new TransactionDecision<>(List.of(record), response);
    }

    /** Kafka's mapping of a failed {@code __transaction_state} append to a client error (TransactionStateManager). */
    public static Errors clientError(Errors appendError) {
        return switch (appendError) {
            case UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                    REQUEST_TIMED_OUT -> Errors.COORDINATOR_NOT_AVAILABLE;
            case NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR -> Errors.NOT_COORDINATOR;
            case MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE -> Errors.UNKNOWN_SERVER_ERROR;
            default -> appendError;
        };
    }
}
