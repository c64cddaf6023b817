package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL a node in the middle of an idempotent {@code acks=all} produce stream, restart it on the same data
 * directory, and check that no acknowledged record was lost or moved.
 *
 * <p>A SIGKILL loses nothing the process had handed to the kernel, so every record the node acknowledged must be
 * there after restart, at the offset it was acknowledged with; a loss here means the node acknowledged records it
 * had not yet written, or that start-up recovery truncated too much.
 */
class CrashRecoveryIT {
    private static final String TOPIC = "crash";
    private static final int PARTITIONS = 3;
    private static final int ACKED_BEFORE_KILL = 20_000;
    private static final Duration PRODUCE_DEADLINE = Duration.ofSeconds(180);

    @RegisterExtension
    final NodeProcesses nodes = new NodeProcesses();

    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    Path dataDir;

    /** A record the node acknowledged: where it said it put it, and what it was. */
    record Acked(int partition, long offset, String key, String value) {}

    @Test
    void keepsEveryAcknowledgedRecordAtItsOffsetAcrossSigkill() throws Exception {
        // Given a node taking a steady stream of keyed, idempotent acks=all produces
        NodeProcess node = nodes.start(dataDir);
        Clients.createTopic(node.bootstrap(), TOPIC, PARTITIONS);
        ConcurrentMap<TopicPartition, Map<Long, Acked>> acked = new ConcurrentHashMap<>();
        AtomicLong ackedCount = new AtomicLong();
        AtomicReference<Exception> ackedTwice = new AtomicReference<>();
        AtomicBoolean sending = new AtomicBoolean(true);
        KafkaProducer<String, String> producer = Clients.producer(node.bootstrap(), Map.of(
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15_000,
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 2_000));
        Thread sender = new Thread(() -> {
            for (long seq = 0; sending.get(); seq++) {
                String key = "key-" + (seq % 1_000);
                String value = "value-" + seq;
                try {
                    producer.send(new ProducerRecord<>(TOPIC, key, value), (metadata, error) -> {
                        if (error == null) {
                            record(acked, ackedCount, ackedTwice, metadata, key, value);
                        }
                    });
                } catch (RuntimeException blockedOnDeadNode) {
                    // After the kill, send() times out waiting for metadata or buffer space: keep trying until told
                    // to stop, as an application would.
                }
            }
        }, "crash-it-sender");
        sender.start();
        try {
            await("node acknowledges " + ACKED_BEFORE_KILL + " records")
                    .atMost(PRODUCE_DEADLINE)
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> ackedCount.get() >= ACKED_BEFORE_KILL || !node.isAlive());
            assertThat(node.isAlive()).as("node alive while taking produce").isTrue();

            // When it is SIGKILLed while sends continue, and restarted on the same data directory
            node.kill();
        } finally {
            sending.set(false);
            sender.join(TimeUnit.SECONDS.toMillis(30));
            producer.close(Duration.ofSeconds(1));
        }
        assertThat(sender.isAlive()).as("sender thread stopped").isFalse();
        assertThat(ackedTwice.get()).as("no (partition, offset) acknowledged twice").isNull();
        long ackedTotal = ackedCount.get();
        System.out.printf("CrashRecoveryIT: %d records acknowledged when the node was SIGKILLed%n", ackedTotal);
        node.restart();

        // Then every acknowledged record is at its acknowledged offset
        Map<TopicPartition, Map<Long, ConsumerRecord<String, String>>> read = readAll(node);
        List<String> problems = new ArrayList<>();
        acked.forEach((partition, byOffset) -> byOffset.forEach((offset, expected) -> {
            ConsumerRecord<String, String> actual = read.getOrDefault(partition, Map.of()).get(offset);
            if (actual == null) {
                problems.add("missing " + expected);
            } else if (!expected.key().equals(actual.key()) || !expected.value().equals(actual.value())) {
                problems.add("at " + partition + "@" + offset + " expected " + expected.key() + "=" + expected.value()
                        + " but found " + actual.key() + "=" + actual.value());
            }
        }));
        assertThat(problems)
                .as("acknowledged records lost or changed (%d acknowledged before the kill)", ackedTotal)
                .isEmpty();

        // And the node takes new produce after the restart
        try (KafkaProducer<String, String> after = Clients.producer(node.bootstrap(), Map.of())) {
            for (int partition = 0; partition < PARTITIONS; partition++) {
                RecordMetadata metadata = after.send(new ProducerRecord<>(TOPIC, partition, "after", "restart"))
                        .get(60, TimeUnit.SECONDS);
                long lastAcked = acked.getOrDefault(new TopicPartition(TOPIC, partition), Map.of()).keySet().stream()
                        .mapToLong(Long::longValue).max().orElse(-1L);
                assertThat(metadata.offset()).as("offset of a new record in partition %d", partition)
                        .isGreaterThan(lastAcked);
            }
        }
    }

    private static void record(ConcurrentMap<TopicPartition, Map<Long, Acked>> acked, AtomicLong ackedCount,
            AtomicReference<Exception> ackedTwice, RecordMetadata metadata, String key, String value) {
        TopicPartition partition = new TopicPartition(metadata.topic(), metadata.partition());
        Acked previous = acked.computeIfAbsent(partition, p -> new ConcurrentHashMap<>())
                .put(metadata.offset(), new Acked(metadata.partition(), metadata.offset(), key, value));
        if (previous != null) {
            ackedTwice.compareAndSet(null, new IllegalStateException(
                    "offset acknowledged twice: " + previous + " then " + key + "=" + value));
        }
        ackedCount.incrementAndGet();
    }

    /** Reads each partition from the beginning to the log end offset the restarted node reports. */
    private static Map<TopicPartition, Map<Long, ConsumerRecord<String, String>>> readAll(NodeProcess node) {
        Map<TopicPartition, Map<Long, ConsumerRecord<String, String>>> read = new HashMap<>();
        try (var consumer = Clients.consumer(node.bootstrap())) {
            List<TopicPartition> partitions = Clients.partitions(TOPIC, PARTITIONS);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> endOffsets = consumer.endOffsets(partitions);
            await("reading every partition up to its end offset " + endOffsets)
                    .atMost(Clients.CLIENT_DEADLINE)
                    .pollInSameThread() // KafkaConsumer belongs to one thread
                    .pollInterval(Duration.ZERO)
                    .until(() -> {
                        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                            read.computeIfAbsent(new TopicPartition(record.topic(), record.partition()),
                                    p -> new HashMap<>()).put(record.offset(), record);
                        }
                        return endOffsets.entrySet().stream()
                                .allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
                    });
        }
        return read;
    }
}
