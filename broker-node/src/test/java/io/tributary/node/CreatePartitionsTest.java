package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.CreatePartitionsOptions;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.InvalidReplicaAssignmentException;
import org.apache.kafka.common.errors.InvalidRequestException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * CreatePartitions through kafka-clients' Admin against one node: a topic grows from 3 to 6 partitions, a running
 * keyed producer sees the new partitions at its next metadata refresh and writes to all 6, a consumer reads every
 * record; shrinking, unknown topics, bad assignments and the internal topics are refused; validateOnly changes
 * nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CreatePartitionsTest {

    private InProcessNode node;
    private Admin admin;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of());
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()));
    }

    @AfterAll
    void stop() {
        admin.close();
        node.close();
    }

    /** Given a 3-partition topic and a running keyed producer, when it grows to 6, then all 6 get records. */
    @Test
    void growsATopicAndARunningKeyedProducerWritesToEveryNewPartition() throws Exception {
        String topic = "grow";
        admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ProducerConfig.METADATA_MAX_AGE_CONFIG, "500"), new StringSerializer(), new StringSerializer())) {
            assertThat(producer.partitionsFor(topic)).hasSize(3);
            producer.send(new ProducerRecord<>(topic, "before", "v")).get(30, TimeUnit.SECONDS);

            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(6))).all().get(30, TimeUnit.SECONDS);

            TopicDescription described = admin.describeTopics(List.of(topic)).allTopicNames()
                    .get(30, TimeUnit.SECONDS).get(topic);
            assertThat(described.partitions()).hasSize(6).allSatisfy(p -> {
                assertThat(p.leader()).isNotNull();
                assertThat(p.isr()).hasSize(1);
            });
            Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> producer.partitionsFor(topic).size() == 6);
            Set<Integer> written = new HashSet<>();
            for (int i = 0; i < 200; i++) {
                written.add(producer.send(new ProducerRecord<>(topic, "key-" + i, "v" + i)).get(30, TimeUnit.SECONDS)
                        .partition());
            }
            assertThat(written).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5);
        }
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ConsumerConfig.GROUP_ID_CONFIG, "grow-readers",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(),
                new StringDeserializer())) {
            consumer.subscribe(List.of(topic));
            Set<String> keys = new HashSet<>();
            Set<Integer> partitions = new HashSet<>();
            Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    keys.add(r.key());
                    partitions.add(r.partition());
                }
                return keys.size() == 201;
            });
            assertThat(partitions).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5);
        }
    }

    @Test
    void refusesShrinkingUnknownTopicsBadAssignmentsAndInternalTopics() throws Exception {
        String topic = "fixed";
        admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);

        assertRefused(Map.of(topic, NewPartitions.increaseTo(2)), InvalidPartitionsException.class,
                "The topic fixed currently has 3 partition(s); 2 would not be an increase.");
        assertRefused(Map.of(topic, NewPartitions.increaseTo(3)), InvalidPartitionsException.class,
                "Topic already has 3 partition(s).");
        assertRefused(Map.of("no-such-topic", NewPartitions.increaseTo(6)), UnknownTopicOrPartitionException.class,
                null);
        assertRefused(Map.of(topic, NewPartitions.increaseTo(4, List.of(List.of(42)))),
                InvalidReplicaAssignmentException.class, null);
        // The group coordinator's topic exists once a group coordinator has been looked up.
        admin.listConsumerGroupOffsets("g").partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        assertRefused(Map.of("__consumer_offsets", NewPartitions.increaseTo(100)), InvalidRequestException.class,
                null);
        assertThat(partitionCount(topic)).isEqualTo(3);
    }

    @Test
    void growsWithAManualAssignment() throws Exception {
        String topic = "assigned";
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);

        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3, List.of(List.of(1), List.of(1)))))
                .all().get(30, TimeUnit.SECONDS);

        TopicDescription described = admin.describeTopics(List.of(topic)).allTopicNames()
                .get(30, TimeUnit.SECONDS).get(topic);
        assertThat(described.partitions()).hasSize(3).allSatisfy(p -> assertThat(p.leader().id()).isEqualTo(1));
    }

    @Test
    void validateOnlyChangesNothing() throws Exception {
        String topic = "validated";
        admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get(30, TimeUnit.SECONDS);

        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(6)),
                new CreatePartitionsOptions().validateOnly(true)).all().get(30, TimeUnit.SECONDS);

        assertThat(partitionCount(topic)).isEqualTo(3);
    }

    private int partitionCount(String topic) throws Exception {
        return admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
                .partitions().size();
    }

    private void assertRefused(Map<String, NewPartitions> request, Class<? extends Exception> error, String message) {
        assertThatThrownBy(() -> admin.createPartitions(request).all().get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(error)
                .satisfies(e -> {
                    if (message != null) {
                        assertThat(e.getMessage()).isEqualTo(message);
                    }
                });
    }
}
