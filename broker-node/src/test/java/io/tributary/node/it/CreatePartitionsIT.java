package io.tributary.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.it.KafkaRequests.MetadataView;
import io.tributary.node.it.KafkaRequests.PartitionState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kafka-topics --alter --partitions 6} (Kafka's own TopicCommand, run as a separate JVM from the jars the
 * build copies to {@code target/kafka-tools}) on a 3-node cluster: every node then describes the topic with 6
 * partitions, each with a leader and all 3 replicas in its ISR, and a keyed acks=all producer writes to all 6
 * (so every new partition replicates to its full ISR); a consumer reads every record back. Shrinking is refused.
 * {@code kafka-topics --create --replica-assignment} places replicas exactly as given (CreateTopics' manual
 * assignment).
 */
class CreatePartitionsIT {
    private static final Duration TOOL_DEADLINE = Duration.ofSeconds(90);

    @RegisterExtension
    static final ClusterProcesses cluster = new ClusterProcesses(3, 3, Map.of());

    @TempDir
    Path workDir;

    @Test
    void kafkaTopicsAlterGrowsATopicOnEveryNodeAndAKeyedProducerWritesToAllPartitions() throws Exception {
        // Given: a 3-partition topic with 3 replicas and records in it
        String topic = "grown";
        Clients.createTopic(cluster.bootstrap(), topic, 3, 3);
        cluster.awaitAgreedMetadata(topic);
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            producer.send(new ProducerRecord<>(topic, "before", "before")).get(30, TimeUnit.SECONDS);
        }

        // When
        ExternalCommand.Result alter = kafkaTopics("--alter", "--topic", topic, "--partitions", "6");

        // Then: every node describes 6 partitions alike, each led and with its full ISR
        assertThat(alter.exitCode()).as(alter.toString()).isZero();
        MetadataView view = cluster.awaitAgreedMetadata(topic);
        assertThat(view.topic(topic).partitions()).hasSize(6);
        Set<Integer> leaders = new HashSet<>();
        for (PartitionState p : view.topic(topic).partitions().values()) {
            assertThat(p.replicas()).hasSize(3);
            assertThat(p.isr()).containsExactlyInAnyOrderElementsOf(p.replicas());
            leaders.add(p.leader());
        }
        assertThat(leaders).as("leaders of the 6 partitions").hasSize(3);
        ExternalCommand.Result describe = kafkaTopics("--describe", "--topic", topic);
        assertThat(describe.stdout()).as(describe.toString()).contains("PartitionCount: 6");

        // And a keyed acks=all producer reaches all 6 partitions
        Set<Integer> written = new HashSet<>();
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int i = 0; i < 300; i++) {
                written.add(producer.send(new ProducerRecord<>(topic, "key-" + i, "value-" + i))
                        .get(30, TimeUnit.SECONDS).partition());
            }
        }
        assertThat(written).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5);
        List<ConsumerRecord<String, String>> read = Clients.readFromBeginning(cluster.bootstrap(), topic, 6, 301);
        assertThat(read).hasSize(301);
        // The ISR held through the writes: the new partitions' followers replicate.
        view = cluster.awaitAgreedMetadata(topic);
        view.topic(topic).partitions().values().forEach(p -> assertThat(p.isr()).hasSize(3));

        // And shrinking is refused with Kafka's message
        ExternalCommand.Result shrink = kafkaTopics("--alter", "--topic", topic, "--partitions", "4");
        assertThat(shrink.exitCode()).as(shrink.toString()).isNotZero();
        assertThat(shrink.stdout() + shrink.stderr())
                .contains("The topic grown currently has 6 partition(s); 4 would not be an increase.");
    }

    @Test
    void kafkaTopicsCreateWithAReplicaAssignmentPlacesReplicasExactlyAsGiven() throws Exception {
        // When: kafka-topics creates a topic with replicas listed per partition, in orders no round robin chooses
        String topic = "placed";
        ExternalCommand.Result create = kafkaTopics("--create", "--topic", topic, "--replica-assignment",
                "3:1,1:2,2:3,3:2");

        // Then: every node describes those replicas in that order, each led by its first (the preferred leader)
        assertThat(create.exitCode()).as(create.toString()).isZero();
        MetadataView view = cluster.awaitAgreedMetadata(topic);
        Map<Integer, PartitionState> partitions = view.topic(topic).partitions();
        assertThat(partitions).hasSize(4);
        List<List<Integer>> expected = List.of(List.of(3, 1), List.of(1, 2), List.of(2, 3), List.of(3, 2));
        for (int p = 0; p < 4; p++) {
            assertThat(partitions.get(p).replicas()).as("partition %d", p).isEqualTo(expected.get(p));
            assertThat(partitions.get(p).leader()).as("partition %d", p).isEqualTo(expected.get(p).get(0));
        }
        // And the topic takes records on every partition
        try (KafkaProducer<String, String> producer = Clients.producer(cluster.bootstrap(), Map.of())) {
            for (int p = 0; p < 4; p++) {
                producer.send(new ProducerRecord<>(topic, p, "k", "v")).get(30, TimeUnit.SECONDS);
            }
        }

        // And: an assignment naming an unregistered broker is refused with Kafka's message
        ExternalCommand.Result bad = kafkaTopics("--create", "--topic", "misplaced", "--replica-assignment",
                "1:7");
        assertThat(bad.exitCode()).as(bad.toString()).isNotZero();
        assertThat(bad.stdout() + bad.stderr()).as(bad.toString())
                .contains("The manual partition assignment includes broker 7, but no such broker is registered.");
    }

    /** Runs Kafka's TopicCommand (kafka-topics.sh) against the cluster in its own JVM. */
    private ExternalCommand.Result kafkaTopics(String... args) {
        return KafkaTools.run("org.apache.kafka.tools.TopicCommand", cluster.bootstrap(), TOOL_DEADLINE, workDir,
                args);
    }
}
