package io.tributary.storage;

/**
 * An aborted transaction of one producer in one partition (Kafka's {@code AbortedTxn}): its records lie between
 * {@code firstOffset} and the ABORT marker at {@code lastOffset}. A read_committed fetch returns the ones its range
 * overlaps, and the client drops those producers' batches from {@code firstOffset} until the marker.
 *
 * @param lastStableOffset the partition's first unstable offset once the marker was written (Kafka keeps it in the
 *     index to stop a lookup early; here for the same layout)
 */
public record AbortedTxn(long producerId, long firstOffset, long lastOffset, long lastStableOffset) {
}
