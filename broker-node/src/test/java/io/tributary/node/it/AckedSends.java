package io.tributary.node.it;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * A load of unique values sent to one partition by one thread through one {@link KafkaProducer} (idempotent,
 * acks=all, as the caller configured it), at a paced rate, recording the outcome of every send: the offset the
 * broker acknowledged it at, or the exception it failed with.
 *
 * <p>Lifecycle: {@link #start()} once, then {@link #stop(Duration)} (or {@link #close()}), which stops sending and
 * closes the producer, so that every outstanding send has completed or failed when it returns. The recorded
 * outcomes may be read from any thread at any time; each value is sent once (the producer's own retries aside).
 */
final class AckedSends implements AutoCloseable {
    /** A send the broker acknowledged: the value, the offset it was given, and when it was sent and acknowledged. */
    record Ack(String value, long offset, long sentAtNs, long ackedAtNs) {}

    /** A send that failed: the value, when it was sent and failed, and the error the producer reported. */
    record Failure(String value, long sentAtNs, long failedAtNs, Throwable error) {
        @Override
        public String toString() {
            return value + " (" + error.getClass().getSimpleName() + ": " + error.getMessage() + ")";
        }
    }

    private static final Duration JOIN_DEADLINE = Duration.ofSeconds(90);

    private final KafkaProducer<String, String> producer;
    private final TopicPartition partition;
    private final String prefix;
    private final long intervalNs;
    private final String padding;
    private final AtomicBoolean sending = new AtomicBoolean(true);
    private final AtomicLong sentCount = new AtomicLong();
    private final AtomicLong ackedCount = new AtomicLong();
    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private boolean stopped;

    /**
     * Sends to {@code partition} one value every {@code interval}, each {@code prefix-<seq>-} followed by
     * {@code paddingBytes} filler bytes; takes ownership of {@code producer}.
     */
    AckedSends(KafkaProducer<String, String> producer, TopicPartition partition, String prefix, Duration interval,
            int paddingBytes) {
        this.producer = producer;
        this.partition = partition;
        this.prefix = prefix;
        this.intervalNs = interval.toNanos();
        this.padding = "x".repeat(paddingBytes);
        this.thread = new Thread(this::run, "acked-sends-" + prefix);
    }

    void start() {
        thread.start();
    }

    long sentCount() {
        return sentCount.get();
    }

    long ackedCount() {
        return ackedCount.get();
    }

    List<Ack> acks() {
        return List.copyOf(acks);
    }

    List<Failure> failures() {
        return List.copyOf(failures);
    }

    /** Whether some send made after {@code afterNs} (a {@link System#nanoTime()}) was acknowledged. */
    boolean ackedSentAfter(long afterNs) {
        return acks.stream().anyMatch(ack -> ack.sentAtNs() > afterNs);
    }

    /**
     * Stops sending, then closes the producer, waiting up to {@code closeDeadline} for outstanding sends (after it,
     * the producer fails them). Every send has an outcome when this returns.
     */
    void stop(Duration closeDeadline) {
        if (stopped) {
            return;
        }
        stopped = true;
        sending.set(false);
        try {
            thread.join(JOIN_DEADLINE.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while stopping " + thread.getName(), e);
        } finally {
            producer.close(closeDeadline);
        }
        if (thread.isAlive()) {
            throw new AssertionError(thread.getName() + " still sending " + JOIN_DEADLINE + " after it was stopped");
        }
    }

    @Override
    public void close() {
        stop(Duration.ofSeconds(30));
    }

    private void run() {
        long nextNs = System.nanoTime();
        for (long seq = 0; sending.get(); seq++) {
            String value = prefix + "-" + seq + "-" + padding;
            long sentAtNs = System.nanoTime();
            try {
                producer.send(new ProducerRecord<>(partition.topic(), partition.partition(), null, value),
                        (metadata, error) -> {
                            if (error != null) {
                                failures.add(new Failure(value, sentAtNs, System.nanoTime(), error));
                            } else {
                                acks.add(new Ack(value, metadata.offset(), sentAtNs, System.nanoTime()));
                                ackedCount.incrementAndGet();
                            }
                        });
                sentCount.incrementAndGet();
            } catch (RuntimeException e) {
                failures.add(new Failure(value, sentAtNs, System.nanoTime(), e));
            }
            nextNs += intervalNs;
            long aheadNs = nextNs - System.nanoTime();
            if (aheadNs > 0) {
                LockSupport.parkNanos(aheadNs); // pacing the load, not waiting for a condition
            } else if (aheadNs < -TimeUnit.SECONDS.toNanos(1)) {
                nextNs = System.nanoTime(); // send() blocked a while: do not burst to catch up
            }
        }
    }
}
