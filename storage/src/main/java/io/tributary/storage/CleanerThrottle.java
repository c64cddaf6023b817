package io.tributary.storage;

/**
 * Bounds the disk I/O of compaction ({@link PartitionLog#clean}, {@link PartitionLog#maybeClean}): the clean reports
 * every chunk it has just read or written, and the throttle may block the cleaning thread to keep the rate down
 * (Kafka's {@code log.cleaner.io.max.bytes.per.second}, its {@code Throttler}). The storage module owns no clock or
 * sleep policy: the caller's throttle does (the replica manager's, next to its {@code log-cleaner} thread).
 *
 * <p>Called on the thread running the clean, never while the log's locks are held, so a sleeping throttle delays
 * only that clean, not appends, reads, truncation or close.
 */
@FunctionalInterface
public interface CleanerThrottle {

    /** No limit: never blocks. */
    CleanerThrottle UNLIMITED = bytes -> { };

    /**
     * Accounts for {@code bytes} (>= 0) the clean has just read or written, blocking while the rate is over the limit.
     *
     * @throws InterruptedException if the thread is interrupted while blocked: the clean stops, swapping nothing more
     *     in, and rethrows it
     */
    void acquire(long bytes) throws InterruptedException;
}
