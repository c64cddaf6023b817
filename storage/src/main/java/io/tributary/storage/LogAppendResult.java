package io.tributary.storage;

/**
 * The outcome of a leader append.
 *
 * @param firstOffset     offset of the first record appended (of the original append when {@code duplicate})
 * @param lastOffset      offset of the last record appended (of the original append when {@code duplicate})
 * @param maxTimestamp    largest batch max timestamp of the append, -1 when {@code duplicate}
 * @param logAppendTimeMs the time the leader stamped on the batches with {@code message.timestamp.type=LogAppendTime},
 *                        else -1
 * @param duplicate       true when the append was an idempotent producer's retry of a batch already in the log;
 *                        nothing was appended
 */
public record LogAppendResult(long firstOffset, long lastOffset, long maxTimestamp, long logAppendTimeMs,
                              boolean duplicate) {
}
