package io.tributary.replication;

/**
 * Why the replica manager refused a partition operation before it reached the log; each maps onto Kafka's error
 * code of the same name.
 */
public enum ReplicaError {
    UNKNOWN_TOPIC_OR_PARTITION,
    NOT_LEADER_OR_FOLLOWER,
    FENCED_LEADER_EPOCH,
    UNKNOWN_LEADER_EPOCH,
    KAFKA_STORAGE_ERROR,
    NOT_ENOUGH_REPLICAS,
    NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    OFFSET_OUT_OF_RANGE
}
