package io.tributary.node.it;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * A consumer reading the given partitions from the beginning on its own thread while a test moves things around,
 * recording the value it read at each offset and every exception {@code poll} threw (a test of an operation "without
 * consumer errors" asserts there are none).
 *
 * <p>Lifecycle: {@link #start} once, {@link #close} (idempotent) to stop and join the thread. The recordings may be
 * read from any thread; they hold one value per partition and offset (the first read; a different value read again
 * at an offset is recorded as an error).
 */
final class RecordingConsumer implements AutoCloseable {
    private static final Duration JOIN_DEADLINE = Duration.ofSeconds(90);

    private final String bootstrap;
    private final List<TopicPartition> partitions;
    private final Map<TopicPartition, Map<Long, String>> values = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean consuming = new AtomicBoolean(true);
    private final Thread thread;

    RecordingConsumer(String bootstrap, List<TopicPartition> partitions) {
        this.bootstrap = bootstrap;
        this.partitions = List.copyOf(partitions);
        partitions.forEach(tp -> values.put(tp, new ConcurrentHashMap<>()));
        this.thread = new Thread(this::run, "recording-consumer");
    }

    void start() {
        thread.start();
    }

    /** Exceptions {@code poll} threw, in order. */
    List<Throwable> errors() {
        return List.copyOf(errors);
    }

    /** Waits until the consumer has read partition {@code tp} up to {@code offset}. */
    void awaitRead(TopicPartition tp, long offset, Duration deadline) {
        await("the consumer reads " + tp + " up to offset " + offset).atMost(deadline)
                .until(() -> values.get(tp).keySet().stream().anyMatch(o -> o >= offset));
    }

    /** The acknowledged sends of {@code tp} that the consumer did not read at their offset with their value. */
    List<String> missing(TopicPartition tp, List<AckedSends.Ack> acks) {
        List<String> missing = new ArrayList<>();
        Map<Long, String> read = new HashMap<>(values.get(tp));
        for (AckedSends.Ack ack : acks) {
            if (!ack.value().equals(read.get(ack.offset()))) {
                missing.add(ack.value() + "@" + tp + "/" + ack.offset());
            }
        }
        return missing;
    }

    @Override
    public void close() throws InterruptedException {
        consuming.set(false);
        if (thread.isAlive()) {
            thread.join(JOIN_DEADLINE.toMillis());
        }
    }

    private void run() {
        try (KafkaConsumer<String, String> consumer = Clients.consumer(bootstrap)) {
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (consuming.get()) {
                try {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                        TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                        String earlier = values.get(tp).putIfAbsent(r.offset(), r.value());
                        if (earlier != null && !earlier.equals(r.value())) {
                            errors.add(new AssertionError(tp + " offset " + r.offset() + " read as " + earlier
                                    + " and as " + r.value()));
                        }
                    }
                } catch (RuntimeException e) {
                    errors.add(e);
                }
            }
        } catch (RuntimeException e) {
            errors.add(e);
        }
    }
}
