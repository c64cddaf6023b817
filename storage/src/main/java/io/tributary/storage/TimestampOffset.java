package io.tributary.storage;

/** A record's timestamp (ms, CreateTime) and its offset, as returned by {@link PartitionLog#offsetForTimestamp}. */
public record TimestampOffset(long timestamp, long offset) {
}
