package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tributary.replication.PartitionId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.OffsetOutOfRangeException;
import org.apache.kafka.common.errors.PolicyViolationException;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DeleteRecordsRequestData;
import org.apache.kafka.common.message.DeleteRecordsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DeleteRecords on a real node through kafka-clients' {@code Admin.deleteRecords}, as {@code kafka-delete-records}
 * and Kafka Streams (purging repartition topics) call it: the low watermark comes back, a consumer from the
 * beginning starts there, ListOffsets earliest answers it, and Kafka's errors for the rest.
 */
class DeleteRecordsTest {
    private static final String TOPIC = "purged";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);

    private InProcessNode node;
    private Admin admin;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of("auto.create.topics.enable", "false"));
        try (WireClient client = new WireClient(node.port())) {
            CreateTopicsRequestData request = new CreateTopicsRequestData().setTimeoutMs(10_000);
            request.topics().add(new CreateTopicsRequestData.CreatableTopic().setName(TOPIC).setNumPartitions(1)
                    .setReplicationFactor((short) 1));
            CreateTopicsResponseData created = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS,
                    (short) 7, request);
            assertThat(created.topics().find(TOPIC).errorCode()).isEqualTo(Errors.NONE.code());
        }
        Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> node.replicas().partition(new PartitionId(TOPIC, 0)).isLeader());
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()));
    }

    @AfterEach
    void stop() {
        if (admin != null) {
            admin.close();
        }
        node.close();
    }

    @Test
    void deleteRecordsMovesTheStartThatConsumersAndListOffsetsSee() throws Exception {
        // Given ten records, one batch each (offsets 0-9)
        produce(10);

        // When Admin deletes the records before offset 4
        long low = admin.deleteRecords(Map.of(TP, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(TP)
                .get(30, TimeUnit.SECONDS).lowWatermark();

        // Then the low watermark is 4, ListOffsets earliest says 4, and a consumer from the beginning starts there
        assertThat(low).isEqualTo(4);
        assertThat(admin.listOffsets(Map.of(TP, OffsetSpec.earliest())).partitionResult(TP).get(30, TimeUnit.SECONDS)
                .offset()).isEqualTo(4);
        assertThat(consumeFromBeginning(6)).containsExactly(4L, 5L, 6L, 7L, 8L, 9L);

        // And a lower offset changes nothing (the current start comes back); -1 deletes up to the high watermark
        assertThat(admin.deleteRecords(Map.of(TP, RecordsToDelete.beforeOffset(2))).lowWatermarks().get(TP)
                .get(30, TimeUnit.SECONDS).lowWatermark()).isEqualTo(4);
        assertThat(admin.deleteRecords(Map.of(TP, RecordsToDelete.beforeOffset(-1))).lowWatermarks().get(TP)
                .get(30, TimeUnit.SECONDS).lowWatermark()).isEqualTo(10);
        assertThat(admin.listOffsets(Map.of(TP, OffsetSpec.earliest())).partitionResult(TP).get(30, TimeUnit.SECONDS)
                .offset()).isEqualTo(10);
    }

    @Test
    void anOffsetAboveTheHighWatermarkIsOutOfRangeAndNothingMoves() throws Exception {
        produce(3);

        assertThatThrownBy(() -> admin.deleteRecords(Map.of(TP, RecordsToDelete.beforeOffset(4))).lowWatermarks()
                .get(TP).get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(OffsetOutOfRangeException.class);

        assertThat(admin.listOffsets(Map.of(TP, OffsetSpec.earliest())).partitionResult(TP).get(30, TimeUnit.SECONDS)
                .offset()).isZero();
    }

    @Test
    void everyVersionAnswersAndUnknownPartitionsAndInternalTopicsAreRefused() throws Exception {
        produce(5);
        try (WireClient client = new WireClient(node.port())) {
            for (short v = 0; v <= 2; v++) {
                DeleteRecordsRequestData request = new DeleteRecordsRequestData().setTimeoutMs(10_000);
                request.topics().add(new DeleteRecordsRequestData.DeleteRecordsTopic().setName(TOPIC).setPartitions(
                        List.of(new DeleteRecordsRequestData.DeleteRecordsPartition().setPartitionIndex(0)
                                .setOffset(v + 1), new DeleteRecordsRequestData.DeleteRecordsPartition()
                                .setPartitionIndex(7).setOffset(1))));
                request.topics().add(new DeleteRecordsRequestData.DeleteRecordsTopic().setName("__consumer_offsets")
                        .setPartitions(List.of(new DeleteRecordsRequestData.DeleteRecordsPartition()
                                .setPartitionIndex(0).setOffset(0))));
                DeleteRecordsResponseData response = (DeleteRecordsResponseData) client.send(ApiKeys.DELETE_RECORDS,
                        v, request);
                DeleteRecordsResponseData.DeleteRecordsTopicResult topic = response.topics().find(TOPIC);
                assertThat(topic.partitions().find(0).errorCode()).as("v%d", v).isEqualTo(Errors.NONE.code());
                assertThat(topic.partitions().find(0).lowWatermark()).as("v%d", v).isEqualTo(v + 1L);
                assertThat(topic.partitions().find(7).errorCode()).as("v%d", v)
                        .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
                short internal = response.topics().find("__consumer_offsets").partitions().find(0).errorCode();
                assertThat(internal).as("v%d: refused, whether the topic exists yet or not", v).isIn(
                        Errors.INVALID_TOPIC_EXCEPTION.code(), Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
            }
        }
    }

    @Test
    void aCompactedOnlyTopicRefusesWithPolicyViolationAsKafka() throws Exception {
        String compacted = "compacted";
        admin.createTopics(List.of(new NewTopic(compacted, 1, (short) 1).configs(Map.of("cleanup.policy",
                "compact")))).all().get(30, TimeUnit.SECONDS);
        TopicPartition tp = new TopicPartition(compacted, 0);
        Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> node.replicas().partition(new PartitionId(compacted, 0)).isLeader());

        assertThatThrownBy(() -> admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(0))).lowWatermarks()
                .get(tp).get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(PolicyViolationException.class);
    }

    private void produce(int count) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ProducerConfig.ACKS_CONFIG, "all"), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(TOPIC, 0, null, ("v" + i).getBytes(StandardCharsets.UTF_8)))
                        .get(30, TimeUnit.SECONDS);
            }
        }
    }

    private List<Long> consumeFromBeginning(int count) {
        List<Long> offsets = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false), new ByteArrayDeserializer(),
                new ByteArrayDeserializer())) {
            consumer.assign(List.of(TP));
            consumer.seekToBeginning(List.of(TP));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (offsets.size() < count && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    offsets.add(r.offset());
                }
            }
        }
        return offsets;
    }
}
