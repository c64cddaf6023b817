package io.tributary.replication;

import io.tributary.metadata.ControllerError;
import io.tributary.proto.metadata.ControllerErrorCode;

/**
 * How the controller answered an AlterPartition, as far as the leader's maximal ISR is concerned (Kafka's
 * {@code Partition.handleAlterPartitionError}).
 */
public enum IsrChangeResult {
    /** Committed: the pending ISR stays counted until the image with the new partition epoch arrives. */
    COMMITTED,
    /**
     * The controller's partition or leader epoch differs from the request's: another change was committed (maybe this
     * one, by an earlier attempt). The pending ISR stays counted until a newer image arrives; the leader retries later.
     */
    STALE,
    /** Refused against the same partition epoch: nothing was committed, the pending ISR is dropped. */
    REFUSED,
    /** No answer (timeout, no controller): unknown whether it was committed; the pending ISR stays, retried later. */
    UNKNOWN;

    /** The result for a controller's error code ({@link ControllerError#NONE}: committed). */
    public static IsrChangeResult of(ControllerError error) {
        return switch (error) {
            case NONE -> COMMITTED;
            case FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION -> STALE;
            case INELIGIBLE_REPLICA, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION -> REFUSED;
            default -> UNKNOWN;
        };
    }

    /** The result for a controller's answer on the wire. */
    public static IsrChangeResult of(ControllerErrorCode error) {
        return switch (error) {
            case NONE -> COMMITTED;
            case FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION -> STALE;
            case INELIGIBLE_REPLICA, INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION -> REFUSED;
            default -> UNKNOWN;
        };
    }
}
