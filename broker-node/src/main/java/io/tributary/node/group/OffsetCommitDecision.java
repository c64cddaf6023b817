package io.tributary.node.group;

import java.util.List;
import org.apache.kafka.common.message.OffsetCommitResponseData;
import org.apache.kafka.common.protocol.Errors;

/**
 * What an OffsetCommit decided: the records to append, and the response to send once they are durable (after
 * {@link GroupCoordinator#replay} of each). Partitions that failed validation are answered in the response and have
 * no record. If the append fails, send {@link #failed(Errors)} instead.
 */
public record OffsetCommitDecision(List<GroupRecord> records, OffsetCommitResponseData response) {

    public OffsetCommitDecision {
        records = List.copyOf(records);
    }

    /**
     * The response when appending {@link #records} failed with {@code appendError}: every partition that was to be
     * committed gets Kafka's mapping of that error (GroupMetadataManager's appendErrorToResponseError).
     */
    public OffsetCommitResponseData failed(Errors appendError) {
        Errors error = clientError(appendError);
        OffsetCommitResponseData copy = response.duplicate();
        copy.topics().forEach(t -> t.partitions().forEach(p -> {
            if (p.errorCode() == Errors.NONE.code()) {
                p.setErrorCode(error.code());
            }
        }));
        return copy;
    }

    /** Kafka's mapping of a failed __consumer_offsets append to the error a client understands. */
    public static Errors clientError(Errors appendError) {
        return switch (appendError) {
            case UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS, NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                    REQUEST_TIMED_OUT -> Errors.COORDINATOR_NOT_AVAILABLE;
            case NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR -> Errors.NOT_COORDINATOR;
            case MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_FETCH_SIZE -> Errors.INVALID_COMMIT_OFFSET_SIZE;
            default -> appendError;
        };
    }
}
