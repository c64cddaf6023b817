package io.tributary.replication;

/**
 * The node's log cleaner (compaction of topics with {@code cleanup.policy=compact}), validated here.
 *
 * @param enabled {@code log.cleaner.enable}: whether compacted topics are compacted at all
 * @param backoffMs {@code log.cleaner.backoff.ms}: the pause between two passes over the hosted logs
 * @param dedupeBufferBytes {@code log.cleaner.dedupe.buffer.size}: the most memory one clean's key map takes (24 bytes
 *     per key); a log with more dirty keys is compacted in several passes
 * @param ioMaxBytesPerSecond {@code log.cleaner.io.max.bytes.per.second}: the most bytes per second the cleaner reads
 *     and writes together ({@link CleanerIoThrottler}); {@link #UNLIMITED_IO}, Kafka's default, is no bound
 * @param threads {@code log.cleaner.threads}: logs compacted at once (1..{@value #MAX_THREADS}); each thread's key map
 *     gets {@code dedupeBufferBytes / threads}, as in Kafka
 */
public record LogCleanerConfig(boolean enabled, long backoffMs, long dedupeBufferBytes, double ioMaxBytesPerSecond,
        int threads) {

    /** Kafka's default of {@code log.cleaner.io.max.bytes.per.second}: {@link Double#MAX_VALUE}, no bound. */
    public static final double UNLIMITED_IO = Double.MAX_VALUE;

    /** The most cleaner threads a node runs. */
    public static final int MAX_THREADS = 16;

    /** Kafka's defaults: on, 15 s, 128 MiB, no I/O bound, one thread. */
    public static final LogCleanerConfig DEFAULTS = new LogCleanerConfig(true, 15_000, 128L << 20, UNLIMITED_IO, 1);

    public LogCleanerConfig {
        if (backoffMs < 1) {
            throw new IllegalArgumentException("log.cleaner.backoff.ms must be >= 1, was " + backoffMs);
        }
        if (dedupeBufferBytes < 1024) {
            throw new IllegalArgumentException("log.cleaner.dedupe.buffer.size must be >= 1024, was "
                    + dedupeBufferBytes);
        }
        if (!(ioMaxBytesPerSecond > 0)) { // NaN too
            throw new IllegalArgumentException("log.cleaner.io.max.bytes.per.second must be > 0, was "
                    + ioMaxBytesPerSecond);
        }
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("log.cleaner.threads must be in 1.." + MAX_THREADS + ", was " + threads);
        }
    }
}
