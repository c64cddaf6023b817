package io.tributary.metadata;

/** Why the controller refused a change; each maps one-to-one onto Kafka's error code of the same name. */
public enum ControllerError {
    NONE,
    TOPIC_ALREADY_EXISTS,
    INVALID_TOPIC_EXCEPTION,
    INVALID_PARTITIONS,
    INVALID_REPLICATION_FACTOR,
    UNKNOWN_TOPIC_OR_PARTITION,
    INVALID_CONFIG,
    INVALID_REQUEST,
    FENCED_LEADER_EPOCH,
    INVALID_UPDATE_VERSION,
    INELIGIBLE_REPLICA,
    INVALID_REPLICA_ASSIGNMENT,
    NO_REASSIGNMENT_IN_PROGRESS,
    BROKER_ID_NOT_REGISTERED
}
