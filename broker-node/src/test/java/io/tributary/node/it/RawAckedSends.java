package io.tributary.node.it;

import io.tributary.node.it.AckedSends.Ack;
import io.tributary.node.it.AckedSends.Failure;
import io.tributary.node.it.KafkaRequests.ProduceAnswer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.Errors;

/**
 * Raw acks=all Produce requests ({@link KafkaRequests#produce}, one batch each, on a connection of its own) to one
 * node, started at a fixed rate whether or not earlier ones were answered, up to {@code maxInFlight} at once.
 *
 * <p>Why not only a {@code KafkaProducer}: an idempotent producer has at most 5 requests in flight, and sends no
 * new one while those wait for the high watermark, so once replication stalls the leader gets nothing new to append.
 * These requests keep arriving, so a leader whose followers died holds many appended, unreplicated batches waiting
 * for acks=all: exactly what a broker must not acknowledge when the ISR then shrinks below min.insync.replicas.
 *
 * <p>Lifecycle: {@link #start()} once, then {@link #stop()} (or {@link #close()}), which stops starting requests
 * and waits for those in flight (each is answered or fails within {@link KafkaRequests}' 10 s response deadline).
 * Outcomes may be read from any thread.
 */
final class RawAckedSends implements AutoCloseable {
    private static final Duration STOP_DEADLINE = Duration.ofSeconds(30);

    private final int port;
    private final TopicPartition partition;
    private final String prefix;
    private final long intervalNs;
    private final int recordsPerRequest;
    private final int maxInFlight;
    private final String padding;
    private final ExecutorService requests;
    private final Thread pacer;
    private final AtomicBoolean sending = new AtomicBoolean(true);
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong sentCount = new AtomicLong();
    private final AtomicLong skippedCount = new AtomicLong();
    private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    private boolean stopped;

    RawAckedSends(int port, TopicPartition partition, String prefix, Duration interval, int recordsPerRequest,
            int maxInFlight, int paddingBytes) {
        this.port = port;
        this.partition = partition;
        this.prefix = prefix;
        this.intervalNs = interval.toNanos();
        this.recordsPerRequest = recordsPerRequest;
        this.maxInFlight = maxInFlight;
        this.padding = "x".repeat(paddingBytes);
        this.requests = Executors.newFixedThreadPool(maxInFlight, runnable -> {
            Thread thread = new Thread(runnable, "raw-acked-sends-" + prefix);
            thread.setDaemon(true);
            return thread;
        });
        this.pacer = new Thread(this::run, "raw-acked-sends-pacer-" + prefix);
    }

    void start() {
        pacer.start();
    }

    /** Records sent so far (in requests started). */
    long sentCount() {
        return sentCount.get();
    }

    List<Ack> acks() {
        return List.copyOf(acks);
    }

    List<Failure> failures() {
        return List.copyOf(failures);
    }

    /** Requests not started because {@code maxInFlight} were waiting already. */
    long skippedRequests() {
        return skippedCount.get();
    }

    void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        sending.set(false);
        try {
            pacer.join(STOP_DEADLINE.toMillis());
            requests.shutdown();
            if (!requests.awaitTermination(STOP_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
                requests.shutdownNow();
                throw new AssertionError("raw produce requests still waiting " + STOP_DEADLINE + " after the stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while stopping the raw produce requests", e);
        }
    }

    @Override
    public void close() {
        stop();
    }

    private void run() {
        long nextNs = System.nanoTime();
        for (long request = 0; sending.get(); request++) {
            if (inFlight.get() < maxInFlight) {
                inFlight.incrementAndGet();
                List<String> values = new ArrayList<>();
                for (int i = 0; i < recordsPerRequest; i++) {
                    values.add(prefix + "-" + request + "." + i + "-" + padding);
                }
                sentCount.addAndGet(values.size());
                requests.execute(() -> send(values));
            } else {
                skippedCount.incrementAndGet();
            }
            nextNs += intervalNs;
            long aheadNs = nextNs - System.nanoTime();
            if (aheadNs > 0) {
                LockSupport.parkNanos(aheadNs); // pacing the load, not waiting for a condition
            } else if (aheadNs < -TimeUnit.SECONDS.toNanos(1)) {
                nextNs = System.nanoTime();
            }
        }
    }

    private void send(List<String> values) {
        long sentAtNs = System.nanoTime();
        try {
            ProduceAnswer answer = KafkaRequests.produce(port, partition, KafkaRequests.ACKS_ALL, values);
            long answeredNs = System.nanoTime();
            if (answer.error() == Errors.NONE) {
                for (int i = 0; i < values.size(); i++) {
                    acks.add(new Ack(values.get(i), answer.baseOffset() + i, sentAtNs, answeredNs));
                }
            } else {
                Throwable error = answer.error().exception(answer.errorMessage());
                values.forEach(value -> failures.add(new Failure(value, sentAtNs, answeredNs, error)));
            }
        } catch (RuntimeException | AssertionError e) {
            long failedNs = System.nanoTime(); // no answer (a dead node, the response deadline): not acknowledged
            values.forEach(value -> failures.add(new Failure(value, sentAtNs, failedNs, e)));
        } finally {
            inFlight.decrementAndGet();
        }
    }
}
