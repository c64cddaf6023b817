package io.tributary.replication;

import io.tributary.storage.CleanerThrottle;
import java.util.concurrent.TimeUnit;

/**
 * The log cleaner's I/O bound, {@code log.cleaner.io.max.bytes.per.second} (Kafka's {@code Throttler} as its
 * {@code LogCleaner} uses it): a clean reports each chunk it has read or written ({@link CleanerThrottle}) and this
 * sleeps the cleaning thread for as long as the bytes counted since the start of the current window would need at the
 * rate, minus the time already gone. A window lasts at least {@link #WINDOW_NS} (Kafka's cleaner checks every
 * 300 ms); the first call past that opens the next one. So over every window, and thus over any run of windows, the
 * cleaner moves at most the rate.
 *
 * <p>Unlike Kafka's, which checks only once a window is over (a burst within one window goes unthrottled, and a clean
 * shorter than a window is never throttled), this checks on every call: a 1 MiB chunk at 1 MiB/s sleeps about a
 * second right after it. As in Kafka, idle time is not banked: the first call after a pause finds a window long over,
 * does not sleep, and opens a new window, so at most one chunk passes unthrottled after a pause.
 *
 * <p>Time and sleep come through {@link Time} (tests pass a fake one). Called by the {@code log-cleaner} thread;
 * synchronized, so sharing one throttler between threads would bound their sum, as Kafka's does. An interrupt while
 * sleeping (the replica manager closing) ends the sleep with {@link InterruptedException}.
 */
final class CleanerIoThrottler implements CleanerThrottle {
    /** How long a rate window lasts at least: Kafka's LogCleaner passes {@code checkIntervalMs = 300}. */
    static final long WINDOW_NS = TimeUnit.MILLISECONDS.toNanos(300);
    private static final double NS_PER_SECOND = 1e9;

    /** The clock and sleep of the throttler. */
    interface Time {
        long nanoTime();

        void sleepNs(long ns) throws InterruptedException;
    }

    /** {@link System#nanoTime()} and {@link TimeUnit#sleep}. */
    static final Time SYSTEM = new Time() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public void sleepNs(long ns) throws InterruptedException {
            TimeUnit.NANOSECONDS.sleep(ns);
        }
    };

    private final double bytesPerSecond;
    private final Time time;
    private long windowStartNs;
    private long windowBytes;

    /** A throttler at {@code bytesPerSecond} (> 0; {@link Double#MAX_VALUE}, Kafka's default, never sleeps). */
    CleanerIoThrottler(double bytesPerSecond, Time time) {
        if (!(bytesPerSecond > 0)) {
            throw new IllegalArgumentException("bytes per second must be > 0, was " + bytesPerSecond);
        }
        this.bytesPerSecond = bytesPerSecond;
        this.time = time;
        this.windowStartNs = time.nanoTime();
    }

    @Override
    public synchronized void acquire(long bytes) throws InterruptedException {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, was " + bytes);
        }
        windowBytes += bytes;
        long elapsedNs = time.nanoTime() - windowStartNs;
        long sleepNs = sleepNs(windowBytes, elapsedNs, bytesPerSecond);
        if (sleepNs > 0) {
            time.sleepNs(sleepNs);
            elapsedNs = time.nanoTime() - windowStartNs;
        }
        if (elapsedNs >= WINDOW_NS) {
            windowStartNs += elapsedNs;
            windowBytes = 0;
        }
    }

    /**
     * How long to sleep so that {@code bytes} over {@code elapsedNs} plus the sleep are at most the rate, to the
     * nearest nanosecond (a shortfall under half a nanosecond, as at Kafka's default rate, is no sleep).
     */
    static long sleepNs(long bytes, long elapsedNs, double bytesPerSecond) {
        double dueNs = bytes * NS_PER_SECOND / bytesPerSecond;
        return dueNs <= elapsedNs ? 0 : Math.round(Math.min(dueNs - elapsedNs, (double) Long.MAX_VALUE));
    }
}
