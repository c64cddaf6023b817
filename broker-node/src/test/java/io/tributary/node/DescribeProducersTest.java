package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.replication.PartitionId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeProducersOptions;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DescribeProducersRequestData;
import org.apache.kafka.common.message.DescribeProducersResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DescribeProducers (KIP-664) on a real node through kafka-clients' {@code Admin.describeProducers}, as
 * {@code kafka-transactions describe-producers} calls it: an idempotent producer's id, epoch, last sequence and
 * timestamp; a transaction opened through the log side (the replica manager, as TransactionReadTest) shows its start
 * offset until its marker. Errors for partitions this node does not lead: {@code DescribeProducersHandlerTest}.
 */
class DescribeProducersTest {
    private static final String TOPIC = "producers";
    private static final TopicPartition TP = new TopicPartition(TOPIC, 0);
    private static final PartitionId PARTITION = new PartitionId(TOPIC, 0);

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
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).ignoreExceptions()
                .until(() -> node.replicas().partition(PARTITION).isLeader());
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
    void describesAnIdempotentProducersIdEpochAndLastSequence() throws Exception {
        // Given an idempotent producer that wrote three batches, one record each (sequences 0, 1, 2)
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.ACKS_CONFIG, "all"), new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < 3; i++) {
                producer.send(new ProducerRecord<>(TOPIC, 0, null, ("v" + i).getBytes(StandardCharsets.UTF_8)))
                        .get(30, TimeUnit.SECONDS);
            }
        }
        // (what the log holds, read back over Fetch: the oracle for the producer's id, epoch and timestamp)
        List<RecordBatch> batches = fetchBatches();
        assertThat(batches).hasSize(3);
        RecordBatch last = batches.get(2);
        assertThat(batches).allSatisfy(b -> assertThat(b.producerId()).isEqualTo(last.producerId()));
        assertThat(last.producerId()).isNotNegative();
        assertThat(last.lastSequence()).isEqualTo(2);

        // When Admin describes the partition's producers, through the leader and through broker 1 named
        for (DescribeProducersOptions options : List.of(new DescribeProducersOptions(),
                new DescribeProducersOptions().brokerId(1))) {
            List<ProducerState> producers = admin.describeProducers(List.of(TP), options).partitionResult(TP)
                    .get(30, TimeUnit.SECONDS).activeProducers();

            // Then it is that producer, with no transaction in progress
            assertThat(producers).singleElement().satisfies(p -> {
                assertThat(p.producerId()).isEqualTo(last.producerId());
                assertThat(p.producerEpoch()).isEqualTo(last.producerEpoch());
                assertThat(p.lastSequence()).isEqualTo(2);
                assertThat(p.lastTimestamp()).isEqualTo(last.maxTimestamp());
                assertThat(p.coordinatorEpoch()).isEqualTo(OptionalInt.empty());
                assertThat(p.currentTransactionStartOffset()).isEqualTo(OptionalLong.empty());
            });
        }
    }

    @Test
    void advertisesDescribeProducersV0() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            ApiVersionsResponseData versions = (ApiVersionsResponseData) client.send(ApiKeys.API_VERSIONS,
                    (short) 3, new ApiVersionsRequestData().setClientSoftwareName("test")
                            .setClientSoftwareVersion("1"));
            ApiVersionsResponseData.ApiVersion describeProducers =
                    versions.apiKeys().find(ApiKeys.DESCRIBE_PRODUCERS.id);
            assertThat(describeProducers).isNotNull();
            assertThat(describeProducers.minVersion()).isZero();
            assertThat(describeProducers.maxVersion()).isZero();
        }
    }

    @Test
    void answersUnknownTopicOrPartitionForAPartitionTheTopicDoesNotHave() throws Exception {
        // (over the wire: the admin client retries this error until its timeout, as against Kafka)
        try (WireClient client = new WireClient(node.port())) {
            DescribeProducersRequestData request = new DescribeProducersRequestData();
            request.topics().add(new DescribeProducersRequestData.TopicRequest().setName(TOPIC)
                    .setPartitionIndexes(List.of(0, 5)));
            DescribeProducersResponseData response = (DescribeProducersResponseData) client.send(
                    ApiKeys.DESCRIBE_PRODUCERS, (short) 0, request);
            List<DescribeProducersResponseData.PartitionResponse> partitions = response.topics().get(0).partitions();
            assertThat(partitions).extracting(p -> p.partitionIndex()).containsExactly(0, 5);
            assertThat(partitions.get(0).errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(partitions.get(1).errorCode()).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        }
    }

    @Test
    void anOpenTransactionShowsItsStartOffsetUntilItsMarker() throws Exception {
        // Given a non-transactional record, then producer 7 opening a transaction at offset 1 (written as the
        // transaction coordinator's producers will, through the replica manager)
        append(MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("before".getBytes())));
        long txnStart = append(MemoryRecords.withTransactionalRecords(Compression.NONE, 7L, (short) 3, 0,
                new SimpleRecord("t-a".getBytes()), new SimpleRecord("t-b".getBytes())));
        assertThat(txnStart).isEqualTo(1);

        // When its producers are described, then producer 7 is in a transaction started at offset 1
        ProducerState open = producer(7);
        assertThat(open.producerEpoch()).isEqualTo(3);
        assertThat(open.lastSequence()).isEqualTo(1);
        assertThat(open.currentTransactionStartOffset()).isEqualTo(OptionalLong.of(txnStart));
        assertThat(open.coordinatorEpoch()).isEqualTo(OptionalInt.empty());

        // When the coordinator (epoch 5) commits it, then producer 7 has no transaction and the marker's epoch
        node.replicas().appendTransactionMarker(PARTITION, 7L, (short) 3, 5, true).committed()
                .get(30, TimeUnit.SECONDS);
        ProducerState committed = producer(7);
        assertThat(committed.currentTransactionStartOffset()).isEqualTo(OptionalLong.empty());
        assertThat(committed.coordinatorEpoch()).isEqualTo(OptionalInt.of(5));
        assertThat(committed.producerEpoch()).isEqualTo(3);
    }

    private ProducerState producer(long producerId) throws Exception {
        List<ProducerState> producers = admin.describeProducers(List.of(TP)).partitionResult(TP)
                .get(30, TimeUnit.SECONDS).activeProducers();
        assertThat(producers).extracting(ProducerState::producerId).containsExactly(producerId);
        return producers.get(0);
    }

    private long append(MemoryRecords records) {
        return node.replicas().appendAsLeader(PARTITION, -1, records.buffer(), 1).result().firstOffset();
    }

    private List<RecordBatch> fetchBatches() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            FetchRequestData request = new FetchRequestData().setReplicaId(-1).setMaxWaitMs(0).setMinBytes(0)
                    .setMaxBytes(1 << 20).setSessionId(0).setSessionEpoch(-1);
            request.topics().add(new FetchRequestData.FetchTopic().setTopic(TOPIC).setPartitions(List.of(
                    new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(0)
                            .setPartitionMaxBytes(1 << 20).setCurrentLeaderEpoch(-1))));
            FetchResponseData response = (FetchResponseData) client.send(ApiKeys.FETCH, (short) 12, request);
            FetchResponseData.PartitionData p = response.responses().get(0).partitions().get(0);
            assertThat(p.errorCode()).isEqualTo(Errors.NONE.code());
            List<RecordBatch> batches = new java.util.ArrayList<>();
            ((MemoryRecords) p.records()).batches().forEach(batches::add);
            return batches;
        }
    }
}
