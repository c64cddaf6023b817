package io.tributary.storage;

/**
 * Operating errors of the partition log. Values, not exceptions of the caller's making: broker-node maps each
 * to the Kafka {@code Errors} code of the same name (this module must not reference {@code Errors}).
 * The ordinals are not stable and must not be put on the wire; use the names.
 */
public enum LogError {
    /** A batch failed its CRC, or its length fields disagree with the bytes given. */
    CORRUPT_MESSAGE,
    /** A batch is larger than {@code max.message.bytes}. */
    MESSAGE_TOO_LARGE,
    /** A batch is structurally valid but breaks a rule (negative record count, unknown compression, empty append). */
    INVALID_RECORD,
    /** A batch is not magic v2. */
    UNSUPPORTED_MAGIC,
    /** An idempotent producer's sequence does not follow its last one. */
    OUT_OF_ORDER_SEQUENCE_NUMBER,
    /** An idempotent producer's epoch is older than the one the log has seen (the producer is fenced). */
    INVALID_PRODUCER_EPOCH,
    /** A read below the log start offset or above the log end offset. */
    OFFSET_OUT_OF_RANGE,
    /** One append is larger than {@code segment.bytes}. */
    RECORD_LIST_TOO_LARGE,
    /** A CreateTime timestamp outside {@code message.timestamp.before.max.ms} / {@code after.max.ms} (KIP-937). */
    INVALID_TIMESTAMP,
    /** A transaction marker from a coordinator older than the one whose marker the producer had last. */
    TRANSACTION_COORDINATOR_FENCED
}
