package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.ApiVersionsRequestData;
import org.apache.kafka.common.message.ApiVersionsResponseData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kafka protocol at the byte level, request by request, against a real node with auto-creation off: Kafka's
 * error codes for bad input, idempotent de-duplication, long-poll fetch, and that ApiVersions advertises exactly
 * the implemented APIs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProtocolBehaviourTest {

    private static final short PRODUCE_V = 9;
    private static final short FETCH_V = 12;

    private InProcessNode node;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of("auto.create.topics.enable", "false"));
        try (WireClient client = new WireClient(node.port())) {
            CreateTopicsResponseData created = createTopic(client, "small", Map.of("max.message.bytes", "2000"));
            assertThat(created.topics().find("small").errorCode()).isEqualTo(Errors.NONE.code());
        }
    }

    @AfterAll
    void stop() {
        node.close();
    }

    @Test
    void apiVersionsAdvertisesExactlyTheImplementedApis() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            ApiVersionsResponseData response = (ApiVersionsResponseData) client.send(ApiKeys.API_VERSIONS,
                    (short) 3, new ApiVersionsRequestData().setClientSoftwareName("t").setClientSoftwareVersion("1"));
            Set<ApiKeys> advertised = response.apiKeys().stream().map(v -> ApiKeys.forId(v.apiKey()))
                    .collect(Collectors.toSet());
            assertThat(advertised).containsExactlyInAnyOrder(ApiKeys.API_VERSIONS, ApiKeys.METADATA,
                    ApiKeys.CREATE_TOPICS, ApiKeys.DELETE_TOPICS, ApiKeys.PRODUCE, ApiKeys.FETCH,
                    ApiKeys.LIST_OFFSETS, ApiKeys.INIT_PRODUCER_ID, ApiKeys.DESCRIBE_CONFIGS,
                    ApiKeys.DESCRIBE_CLUSTER, ApiKeys.OFFSET_FOR_LEADER_EPOCH, ApiKeys.FIND_COORDINATOR,
                    ApiKeys.JOIN_GROUP, ApiKeys.SYNC_GROUP, ApiKeys.HEARTBEAT, ApiKeys.LEAVE_GROUP,
                    ApiKeys.OFFSET_COMMIT, ApiKeys.OFFSET_FETCH, ApiKeys.LIST_GROUPS, ApiKeys.DESCRIBE_GROUPS,
                    ApiKeys.DELETE_GROUPS, ApiKeys.OFFSET_DELETE, ApiKeys.DESCRIBE_QUORUM, ApiKeys.SASL_HANDSHAKE,
                    ApiKeys.SASL_AUTHENTICATE, ApiKeys.ALTER_USER_SCRAM_CREDENTIALS,
                    ApiKeys.DESCRIBE_USER_SCRAM_CREDENTIALS, ApiKeys.CREATE_ACLS, ApiKeys.DESCRIBE_ACLS,
                    ApiKeys.DELETE_ACLS, ApiKeys.ADD_PARTITIONS_TO_TXN, ApiKeys.ADD_OFFSETS_TO_TXN, ApiKeys.END_TXN,
                    ApiKeys.WRITE_TXN_MARKERS, ApiKeys.DESCRIBE_TRANSACTIONS, ApiKeys.LIST_TRANSACTIONS,
                    ApiKeys.DESCRIBE_PRODUCERS, ApiKeys.TXN_OFFSET_COMMIT,
                    ApiKeys.CREATE_PARTITIONS, ApiKeys.DELETE_RECORDS, ApiKeys.INCREMENTAL_ALTER_CONFIGS,
                    ApiKeys.ALTER_CONFIGS, ApiKeys.ELECT_LEADERS, ApiKeys.DESCRIBE_LOG_DIRS,
                    ApiKeys.DESCRIBE_TOPIC_PARTITIONS, ApiKeys.ALTER_PARTITION_REASSIGNMENTS,
                    ApiKeys.LIST_PARTITION_REASSIGNMENTS, ApiKeys.UNREGISTER_BROKER, ApiKeys.CONSUMER_GROUP_HEARTBEAT,
                    ApiKeys.CONSUMER_GROUP_DESCRIBE);
            // Transactions v1: the last versions before KIP-890's v2, and no transaction.version feature.
            assertThat(response.apiKeys().find(ApiKeys.ADD_PARTITIONS_TO_TXN.id).maxVersion()).isEqualTo((short) 3);
            assertThat(response.apiKeys().find(ApiKeys.END_TXN.id).maxVersion()).isEqualTo((short) 4);
            assertThat(response.finalizedFeatures().find("transaction.version")).isNull();
            assertThat(response.apiKeys().find(ApiKeys.LIST_OFFSETS.id).maxVersion()).isEqualTo((short) 10);
            // KIP-848 (KIP-1082: v1, member ids chosen by the client)
            assertThat(response.apiKeys().find(ApiKeys.CONSUMER_GROUP_HEARTBEAT.id).maxVersion()).isEqualTo((short) 1);
        }
    }

    @Test
    void transactionalRecordsWithoutATransactionalIdAndClientControlBatchesAreRefusedAndNothingIsStored()
            throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            long before = latestOffset(client, "small");
            MemoryRecords transactional = MemoryRecords.withTransactionalRecords(Compression.NONE, 4242L, (short) 0, 0,
                    new SimpleRecord("in a transaction".getBytes(StandardCharsets.UTF_8)));
            assertThat(partitionError(produce(client, "small", transactional)))
                    .as("transactional records without a transactional id")
                    .isEqualTo(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
            MemoryRecords marker = MemoryRecords.withEndTransactionMarker(0L, System.currentTimeMillis(), -1, 4242L,
                    (short) 0, new org.apache.kafka.common.record.EndTransactionMarker(
                            org.apache.kafka.common.record.ControlRecordType.COMMIT, 0));
            assertThat(partitionError(produce(client, "small", marker))).as("a client's control batch")
                    .isNotEqualTo(Errors.NONE);
            assertThat(latestOffset(client, "small")).isEqualTo(before);
        }
    }

    @Test
    void unservedVersionOfAKnownApiGetsUnsupportedVersion() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            ListOffsetsResponseData response = (ListOffsetsResponseData) client.send(ApiKeys.LIST_OFFSETS, (short) 11,
                    listOffsets("small", -1));
            assertThat(response.topics().get(0).partitions().get(0).errorCode())
                    .isEqualTo(Errors.UNSUPPORTED_VERSION.code());
            // The connection keeps serving.
            assertThat(latestOffset(client, "small")).isGreaterThanOrEqualTo(0);
        }
    }

    @Test
    void unknownAndIllegalTopicsGetKafkaErrors() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            MetadataResponseData metadata = (MetadataResponseData) client.send(ApiKeys.METADATA, (short) 12,
                    new MetadataRequestData().setAllowAutoTopicCreation(true).setTopics(List.of(
                            new MetadataRequestData.MetadataRequestTopic().setName("missing"),
                            new MetadataRequestData.MetadataRequestTopic().setName("bad/name"))));
            assertThat(metadata.topics().find("missing").errorCode())
                    .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
            assertThat(metadata.topics().find("bad/name").errorCode())
                    .isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());

            ProduceResponseData produce = produce(client, "missing", records("x"));
            assertThat(partitionError(produce)).isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION);

            assertThat(createTopic(client, "bad/name", Map.of()).topics().find("bad/name").errorCode())
                    .isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
            assertThat(createTopic(client, "small", Map.of()).topics().find("small").errorCode())
                    .isEqualTo(Errors.TOPIC_ALREADY_EXISTS.code());
            assertThat(createTopic(client, "badconfig", Map.of("retention.ms", "soon")).topics()
                    .find("badconfig").errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
            assertThat(createTopic(client, "badconfig", Map.of("no.such.config", "1")).topics()
                    .find("badconfig").errorCode()).isEqualTo(Errors.INVALID_CONFIG.code());
            CreateTopicsRequestData rf3 = new CreateTopicsRequestData().setTimeoutMs(10_000);
            rf3.topics().add(new CreateTopicsRequestData.CreatableTopic().setName("rf3").setNumPartitions(1)
                    .setReplicationFactor((short) 3));
            CreateTopicsResponseData rf3Response = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS,
                    (short) 7, rf3);
            assertThat(rf3Response.topics().find("rf3").errorCode())
                    .isEqualTo(Errors.INVALID_REPLICATION_FACTOR.code());
        }
    }

    @Test
    void corruptOrOversizedBatchesAreRefusedAndAppendNothing() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            long before = latestOffset(client, "small");
            MemoryRecords corrupt = records("payload");
            ByteBuffer bytes = corrupt.buffer();
            int last = bytes.limit() - 1;
            bytes.put(last, (byte) (bytes.get(last) ^ 0x5a));
            assertThat(partitionError(produce(client, "small", corrupt))).isEqualTo(Errors.CORRUPT_MESSAGE);

            MemoryRecords tooLarge = records("x".repeat(5_000));
            assertThat(partitionError(produce(client, "small", tooLarge))).isEqualTo(Errors.MESSAGE_TOO_LARGE);

            assertThat(latestOffset(client, "small")).isEqualTo(before);
            assertThat(partitionError(produce(client, "small", records("fits")))).isEqualTo(Errors.NONE);
            assertThat(latestOffset(client, "small")).isEqualTo(before + 1);
        }
    }

    @Test
    void aCompactedTopicNamesItsKeylessRecordsInTheAnswersRecordErrors() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            createTopic(client, "compacted-keys", Map.of("cleanup.policy", "compact"));
            MemoryRecords records = MemoryRecords.withRecords(Compression.NONE,
                    new SimpleRecord(0L, "k0".getBytes(), "v".getBytes()),
                    new SimpleRecord(0L, null, "no key".getBytes()),
                    new SimpleRecord(0L, "k2".getBytes(), "v".getBytes()),
                    new SimpleRecord(0L, null, "no key either".getBytes()));
            // KIP-467 (produce v8+): the batch is refused whole, and the answer names the records at fault, so that a
            // client fails those with INVALID_RECORD and may send the others again
            ProduceResponseData refused = produce(client, "compacted-keys", records);
            ProduceResponseData.PartitionProduceResponse partition = refused.responses().iterator().next()
                    .partitionResponses().get(0);
            assertThat(Errors.forCode(partition.errorCode())).isEqualTo(Errors.INVALID_RECORD);
            assertThat(partition.recordErrors()).extracting(ProduceResponseData.BatchIndexAndErrorMessage::batchIndex)
                    .containsExactly(1, 3);
            assertThat(partition.recordErrors().get(0).batchIndexErrorMessage()).contains("without key");
            assertThat(partition.errorMessage()).contains("without key");
            assertThat(latestOffset(client, "compacted-keys")).as("nothing stored").isZero();
        }
    }

    @Test
    void idempotentRetriesAreDeduplicatedAndGapsRefused() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            createTopic(client, "idempotent", Map.of());
            ProduceResponseData first = produce(client, "idempotent", idempotent(77L, 0, "a", "b"));
            ProduceResponseData retry = produce(client, "idempotent", idempotent(77L, 0, "a", "b"));
            assertThat(partitionError(first)).isEqualTo(Errors.NONE);
            assertThat(partitionError(retry)).isEqualTo(Errors.NONE);
            assertThat(baseOffset(retry)).isEqualTo(baseOffset(first));
            assertThat(latestOffset(client, "idempotent")).isEqualTo(2);

            ProduceResponseData gap = produce(client, "idempotent", idempotent(77L, 5, "c"));
            assertThat(partitionError(gap)).isEqualTo(Errors.OUT_OF_ORDER_SEQUENCE_NUMBER);
            ProduceResponseData next = produce(client, "idempotent", idempotent(77L, 2, "c"));
            assertThat(partitionError(next)).isEqualTo(Errors.NONE);
            assertThat(baseOffset(next)).isEqualTo(2);
        }
    }

    @Test
    void longPollFetchReturnsAsSoonAsDataArrivesAndWaitsOtherwise() throws Exception {
        try (WireClient fetcher = new WireClient(node.port()); WireClient producer = new WireClient(node.port())) {
            createTopic(producer, "poll", Map.of());
            FetchResponseData empty = (FetchResponseData) fetcher.send(ApiKeys.FETCH, FETCH_V, fetch("poll", 0, 200));
            assertThat(empty.responses().get(0).partitions().get(0).records().sizeInBytes()).isZero();

            CompletableFuture<FetchResponseData> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return (FetchResponseData) fetcher.send(ApiKeys.FETCH, FETCH_V, fetch("poll", 0, 60_000));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThat(partitionError(produce(producer, "poll", records("wake up")))).isEqualTo(Errors.NONE);
            // The fetch waits up to 60 s; it must be answered well before that because data arrived.
            FetchResponseData data = waiting.get(20, TimeUnit.SECONDS);
            FetchResponseData.PartitionData partition = data.responses().get(0).partitions().get(0);
            assertThat(partition.errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(partition.highWatermark()).isEqualTo(1);
            assertThat(partition.records().sizeInBytes()).isGreaterThan(0);
        }
    }

    @Test
    void fetchOutOfRangeAndDescribeConfigs() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            createTopic(client, "configured", Map.of("retention.ms", "3600000"));
            FetchResponseData far = (FetchResponseData) client.send(ApiKeys.FETCH, FETCH_V,
                    fetch("configured", 50, 0));
            assertThat(far.responses().get(0).partitions().get(0).errorCode())
                    .isEqualTo(Errors.OFFSET_OUT_OF_RANGE.code());

            DescribeConfigsRequestData describe = new DescribeConfigsRequestData();
            describe.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType((byte) 2).setResourceName("configured").setConfigurationKeys(null));
            DescribeConfigsResponseData configs = (DescribeConfigsResponseData) client.send(
                    ApiKeys.DESCRIBE_CONFIGS, (short) 4, describe);
            Map<String, String> values = configs.results().get(0).configs().stream().collect(Collectors.toMap(
                    DescribeConfigsResponseData.DescribeConfigsResourceResult::name,
                    DescribeConfigsResponseData.DescribeConfigsResourceResult::value));
            assertThat(values).containsEntry("retention.ms", "3600000").containsEntry("segment.bytes", "1073741824");
        }
    }

    private static CreateTopicsResponseData createTopic(WireClient client, String name, Map<String, String> configs)
            throws Exception {
        CreateTopicsRequestData.CreatableTopic topic = new CreateTopicsRequestData.CreatableTopic()
                .setName(name).setNumPartitions(1).setReplicationFactor((short) 1);
        configs.forEach((k, v) -> topic.configs().add(
                new CreateTopicsRequestData.CreatableTopicConfig().setName(k).setValue(v)));
        CreateTopicsRequestData request = new CreateTopicsRequestData().setTimeoutMs(10_000);
        request.topics().add(topic);
        return (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS, (short) 7, request);
    }

    private static MemoryRecords records(String... values) {
        SimpleRecord[] records = new SimpleRecord[values.length];
        for (int i = 0; i < values.length; i++) {
            records[i] = new SimpleRecord(values[i].getBytes(StandardCharsets.UTF_8));
        }
        return MemoryRecords.withRecords(Compression.NONE, records);
    }

    private static MemoryRecords idempotent(long producerId, int sequence, String... values) {
        SimpleRecord[] records = new SimpleRecord[values.length];
        for (int i = 0; i < values.length; i++) {
            records[i] = new SimpleRecord(values[i].getBytes(StandardCharsets.UTF_8));
        }
        return MemoryRecords.withIdempotentRecords(Compression.NONE, producerId, (short) 0, sequence, records);
    }

    private static ProduceResponseData produce(WireClient client, String topic, MemoryRecords records)
            throws Exception {
        ProduceRequestData request = new ProduceRequestData().setAcks((short) -1).setTimeoutMs(10_000);
        ProduceRequestData.TopicProduceData data = new ProduceRequestData.TopicProduceData().setName(topic);
        data.partitionData().add(new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(records));
        request.topicData().add(data);
        return (ProduceResponseData) client.send(ApiKeys.PRODUCE, PRODUCE_V, request);
    }

    private static Errors partitionError(ProduceResponseData response) {
        return Errors.forCode(response.responses().iterator().next().partitionResponses().get(0).errorCode());
    }

    private static long baseOffset(ProduceResponseData response) {
        return response.responses().iterator().next().partitionResponses().get(0).baseOffset();
    }

    private static ListOffsetsRequestData listOffsets(String topic, long timestamp) {
        ListOffsetsRequestData request = new ListOffsetsRequestData().setReplicaId(-1);
        request.topics().add(new ListOffsetsRequestData.ListOffsetsTopic().setName(topic).setPartitions(List.of(
                new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0).setTimestamp(timestamp))));
        return request;
    }

    private static long latestOffset(WireClient client, String topic) throws Exception {
        ListOffsetsResponseData response = (ListOffsetsResponseData) client.send(ApiKeys.LIST_OFFSETS, (short) 6,
                listOffsets(topic, -1));
        ListOffsetsResponseData.ListOffsetsPartitionResponse p = response.topics().get(0).partitions().get(0);
        assertThat(p.errorCode()).isEqualTo(Errors.NONE.code());
        return p.offset();
    }

    private static FetchRequestData fetch(String topic, long offset, int maxWaitMs) {
        FetchRequestData request = new FetchRequestData().setReplicaId(-1).setMaxWaitMs(maxWaitMs).setMinBytes(1)
                .setMaxBytes(1 << 20).setSessionId(0).setSessionEpoch(-1);
        request.topics().add(new FetchRequestData.FetchTopic().setTopic(topic).setPartitions(List.of(
                new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(offset)
                        .setPartitionMaxBytes(1 << 20).setCurrentLeaderEpoch(-1))));
        return request;
    }
}
