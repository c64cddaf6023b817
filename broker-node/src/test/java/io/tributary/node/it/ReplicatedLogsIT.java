package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.node.it.StoredLog.StoredRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 4, "Done when": RF=3, {@code min.insync.replicas=2}: 200,000 records produced with {@code acks=all} leave
 * the three replicas' logs byte-identical.
 *
 * <p>The comparison is of the files on disk: each partition's {@code .log} segments, concatenated in base offset
 * order, on each of the three nodes. Followers may be a fetch behind when the last acknowledgement arrives (acks=all
 * needs the ISR to have the batch, not every follower to have written the next high watermark), so the test waits
 * for equality with a deadline.
 */
class ReplicatedLogsIT {
    private static final int NODES = 3;
    private static final int PARTITIONS = 3;
    private static final int RECORDS = 200_000;
    private static final String TOPIC = "replicated";
    private static final Duration PRODUCE_DEADLINE = Duration.ofSeconds(180);
    private static final Duration CONVERGE_DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(NODES, NODES);

    @Test
    void leavesTheThreeReplicasOfEveryPartitionByteIdenticalAfter200kAcksAllRecords() throws Exception {
        // Given a topic with three replicas and min.insync.replicas=2, every replica in sync
        Clients.createTopic(cluster.bootstrap(), TOPIC, PARTITIONS, NODES, Map.of("min.insync.replicas", "2"));
        for (int partition = 0; partition < PARTITIONS; partition++) {
            cluster.awaitFullIsr(TOPIC, partition, ClusterProcesses.HEALTH_DEADLINE);
        }

        // When 200,000 records are produced with the idempotent acks=all producer, round-robin over the partitions
        ConcurrentMap<TopicPartition, ConcurrentMap<Long, String>> acked = new ConcurrentHashMap<>();
        AtomicLong ackedCount = new AtomicLong();
        AtomicReference<Exception> firstError = new AtomicReference<>();
        AtomicLong duplicateOffsets = new AtomicLong();
        long startedAt = System.nanoTime();
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int seq = 0; seq < RECORDS; seq++) {
                String value = "record-" + seq;
                producer.send(new ProducerRecord<>(TOPIC, seq % PARTITIONS, null, value), (metadata, error) -> {
                    if (error != null) {
                        firstError.compareAndSet(null, error);
                        return;
                    }
                    TopicPartition partition = new TopicPartition(metadata.topic(), metadata.partition());
                    if (acked.computeIfAbsent(partition, p -> new ConcurrentHashMap<>())
                            .put(metadata.offset(), value) != null) {
                        duplicateOffsets.incrementAndGet();
                    }
                    ackedCount.incrementAndGet();
                });
            }
            producer.flush();
            await("every record acknowledged or failed")
                    .atMost(PRODUCE_DEADLINE)
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> ackedCount.get() == RECORDS || firstError.get() != null);
        }
        System.out.printf("ReplicatedLogsIT: %d records acknowledged with acks=all in %d ms%n", ackedCount.get(),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt));
        assertThat(firstError.get()).as("first failed send").isNull();
        assertThat(ackedCount.get()).as("records acknowledged").isEqualTo(RECORDS);
        assertThat(duplicateOffsets.get()).as("(partition, offset) pairs acknowledged twice").isZero();

        // Then on disk, each partition's three replicas are byte-identical, hold exactly the acknowledged records
        // at their acknowledged offsets, and nothing else
        Set<Integer> replicas = cluster.ids();
        List<String> problems = new ArrayList<>();
        for (int partition = 0; partition < PARTITIONS; partition++) {
            byte[] stored = cluster.awaitIdenticalLogs(TOPIC, partition, replicas, CONVERGE_DEADLINE);
            Map<Long, String> ackedHere = acked.containsKey(new TopicPartition(TOPIC, partition))
                    ? acked.get(new TopicPartition(TOPIC, partition)) : Map.of();
            List<StoredRecord> records = StoredLog.records(stored);
            System.out.printf("ReplicatedLogsIT: partition %d: %d bytes, %d records, identical on nodes %s%n",
                    partition, stored.length, records.size(), replicas);
            assertThat(records).as("records stored in partition %d", partition).hasSize(ackedHere.size());
            for (int i = 0; i < records.size(); i++) {
                StoredRecord record = records.get(i);
                String expected = ackedHere.get(record.offset());
                if (record.offset() != i) {
                    problems.add("partition " + partition + ": record #" + i + " stored at offset " + record.offset());
                } else if (!record.value().equals(expected)) {
                    problems.add("partition " + partition + "@" + record.offset() + ": stored " + record.value()
                            + ", acknowledged " + expected);
                }
                if (problems.size() > 20) {
                    break;
                }
            }
        }
        assertThat(problems).as("stored records that differ from the acknowledged ones").isEmpty();
    }
}
