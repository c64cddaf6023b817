package io.tributary.node.handlers;

import io.tributary.replication.ReplicaError;
import io.tributary.replication.ReplicaException;
import io.tributary.storage.LogError;
import io.tributary.storage.LogException;
import org.apache.kafka.common.protocol.Errors;

/** Maps our modules' error values onto Kafka's error codes at the client edge. */
final class ErrorCodes {

    private ErrorCodes() {}

    static Errors of(LogError error) {
        return switch (error) {
            case CORRUPT_MESSAGE -> Errors.CORRUPT_MESSAGE;
            case MESSAGE_TOO_LARGE -> Errors.MESSAGE_TOO_LARGE;
            case INVALID_RECORD -> Errors.INVALID_RECORD;
            case UNSUPPORTED_MAGIC -> Errors.UNSUPPORTED_FOR_MESSAGE_FORMAT;
            case OUT_OF_ORDER_SEQUENCE_NUMBER -> Errors.OUT_OF_ORDER_SEQUENCE_NUMBER;
            case INVALID_PRODUCER_EPOCH -> Errors.INVALID_PRODUCER_EPOCH;
            case OFFSET_OUT_OF_RANGE -> Errors.OFFSET_OUT_OF_RANGE;
            case RECORD_LIST_TOO_LARGE -> Errors.RECORD_LIST_TOO_LARGE;
            case TRANSACTION_COORDINATOR_FENCED -> Errors.TRANSACTION_COORDINATOR_FENCED;
            case INVALID_TIMESTAMP -> Errors.INVALID_TIMESTAMP;
        };
    }

    static Errors of(ReplicaError error) {
        return switch (error) {
            case UNKNOWN_TOPIC_OR_PARTITION -> Errors.UNKNOWN_TOPIC_OR_PARTITION;
            case NOT_LEADER_OR_FOLLOWER -> Errors.NOT_LEADER_OR_FOLLOWER;
            case FENCED_LEADER_EPOCH -> Errors.FENCED_LEADER_EPOCH;
            case UNKNOWN_LEADER_EPOCH -> Errors.UNKNOWN_LEADER_EPOCH;
            case KAFKA_STORAGE_ERROR -> Errors.KAFKA_STORAGE_ERROR;
            case NOT_ENOUGH_REPLICAS -> Errors.NOT_ENOUGH_REPLICAS;
            case NOT_ENOUGH_REPLICAS_AFTER_APPEND -> Errors.NOT_ENOUGH_REPLICAS_AFTER_APPEND;
            case OFFSET_OUT_OF_RANGE -> Errors.OFFSET_OUT_OF_RANGE;
        };
    }

    /** The Kafka error for an operating error thrown by the log or the replica manager; rethrows anything else. */
    static Errors of(RuntimeException e) {
        if (e instanceof LogException le) {
            return of(le.error());
        }
        if (e instanceof ReplicaException re) {
            return of(re.error());
        }
        throw e;
    }
}
