package io.tributary.node.it;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/** Group members (classic protocol, kafka-clients) and small blocking helpers for the consumer group ITs. */
final class GroupConsumers {
    static final String RANGE = "org.apache.kafka.clients.consumer.RangeAssignor";
    static final String COOPERATIVE_STICKY = "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
    /** Above the node's group.min.session.timeout.ms (6 s); the bound the tests give a rebalance after a close. */
    static final Duration SESSION_TIMEOUT = Duration.ofSeconds(10);

    private GroupConsumers() {}

    /**
     * A member of {@code groupId} that starts at the earliest offset where nothing is committed, never commits on
     * its own, and uses {@code assignor}; {@code overrides} win.
     */
    static KafkaConsumer<String, String> member(String bootstrap, String groupId, String assignor,
            Map<String, Object> overrides) {
        Map<String, Object> config = new HashMap<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.GROUP_ID_CONFIG, groupId,
                ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, assignor,
                ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, (int) SESSION_TIMEOUT.toMillis(),
                ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500,
                ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
        config.putAll(overrides);
        return new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer());
    }

    static KafkaConsumer<String, String> member(String bootstrap, String groupId, String assignor) {
        return member(bootstrap, groupId, assignor, Map.of());
    }

    /**
     * Produces {@code perPartition} records to every one of {@code partitions} partitions of {@code topic}, value
     * {@code "<partition>-<offset>"} (offsets count from 0 on an empty topic), acks=all; waits for all of them.
     */
    static void produceNumbered(String bootstrap, String topic, int partitions, int perPartition) {
        try (KafkaProducer<String, String> producer = Clients.producer(bootstrap, Map.of())) {
            for (int i = 0; i < perPartition; i++) {
                for (int partition = 0; partition < partitions; partition++) {
                    producer.send(new ProducerRecord<>(topic, partition, null, partition + "-" + i));
                }
            }
            producer.flush();
        }
    }

    /** The group's committed offsets, as the Admin client reads them (OffsetFetch through the coordinator). */
    static Map<TopicPartition, Long> committedOffsets(String bootstrap, String groupId) {
        try (Admin admin = Clients.admin(bootstrap)) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(groupId)
                    .partitionsToOffsetAndMetadata()
                    .get(Clients.CLIENT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
            Map<TopicPartition, Long> offsets = new HashMap<>();
            committed.forEach((partition, offset) -> {
                if (offset != null) {
                    offsets.put(partition, offset.offset());
                }
            });
            return offsets;
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("cannot list the committed offsets of group " + groupId, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static List<TopicPartition> partitions(String topic, int count) {
        return Clients.partitions(topic, count);
    }
}
