package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.CreatePartitionsRequestData;
import org.apache.kafka.common.message.CreatePartitionsResponseData;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DeleteTopicsRequestData;
import org.apache.kafka.common.message.DeleteTopicsResponseData;
import org.apache.kafka.common.message.DescribeClusterRequestData;
import org.apache.kafka.common.message.DescribeClusterResponseData;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.message.FetchRequestData;
import org.apache.kafka.common.message.FetchResponseData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.ListOffsetsRequestData;
import org.apache.kafka.common.message.ListOffsetsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.OffsetForLeaderEpochRequestData;
import org.apache.kafka.common.message.OffsetForLeaderEpochResponseData;
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
 * Every advertised version of every served API answers a well-formed request without error, and kafka-clients'
 * parser reads the answer. Clients other than the newest Java one (kcat, kafkajs, older tools) use older versions,
 * and a response field that does not exist in a version must not be written there.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EveryServedVersionTest {

    private static final String TOPIC = "versions";

    private InProcessNode node;
    private WireClient client;
    private Uuid topicId;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of());
        client = new WireClient(node.port());
        CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
        create.topics().add(new CreateTopicsRequestData.CreatableTopic().setName(TOPIC).setNumPartitions(1)
                .setReplicationFactor((short) 1));
        CreateTopicsResponseData created = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS, (short) 7,
                create);
        topicId = created.topics().find(TOPIC).topicId();
        assertThat(topicId).isNotEqualTo(Uuid.ZERO_UUID);
    }

    @AfterAll
    void stop() throws Exception {
        client.close();
        node.close();
    }

    @Test
    void metadataEveryVersion() throws Exception {
        for (short v = 0; v <= 13; v++) {
            MetadataRequestData request = new MetadataRequestData()
                    .setTopics(List.of(new MetadataRequestData.MetadataRequestTopic().setName(TOPIC)));
            MetadataResponseData response = (MetadataResponseData) client.send(ApiKeys.METADATA, v, request);
            assertThat(response.brokers()).as("v%d", v).hasSize(1);
            MetadataResponseData.MetadataResponseTopic topic = response.topics().find(TOPIC);
            assertThat(topic.errorCode()).as("v%d", v).isEqualTo(Errors.NONE.code());
            assertThat(topic.partitions().get(0).leaderId()).as("v%d", v).isEqualTo(1);
        }
    }

    @Test
    void produceFetchListOffsetsEveryVersion() throws Exception {
        for (short v = 3; v <= 13; v++) {
            ProduceRequestData.TopicProduceData data = v >= 13
                    ? new ProduceRequestData.TopicProduceData().setTopicId(topicId)
                    : new ProduceRequestData.TopicProduceData().setName(TOPIC);
            data.partitionData().add(new ProduceRequestData.PartitionProduceData().setIndex(0).setRecords(
                    MemoryRecords.withRecords(Compression.NONE,
                            new SimpleRecord(("v" + v).getBytes(StandardCharsets.UTF_8)))));
            ProduceRequestData request = new ProduceRequestData().setAcks((short) 1).setTimeoutMs(5000);
            request.topicData().add(data);
            ProduceResponseData response = (ProduceResponseData) client.send(ApiKeys.PRODUCE, v, request);
            ProduceResponseData.PartitionProduceResponse p = response.responses().iterator().next()
                    .partitionResponses().get(0);
            assertThat(p.errorCode()).as("produce v%d", v).isEqualTo(Errors.NONE.code());
            assertThat(p.baseOffset()).as("produce v%d", v).isEqualTo(v - 3L);
        }
        for (short v = 4; v <= 18; v++) {
            FetchRequestData.FetchTopic topic = v >= 13
                    ? new FetchRequestData.FetchTopic().setTopicId(topicId)
                    : new FetchRequestData.FetchTopic().setTopic(TOPIC);
            topic.partitions().add(new FetchRequestData.FetchPartition().setPartition(0).setFetchOffset(2)
                    .setPartitionMaxBytes(1 << 20));
            FetchRequestData request = new FetchRequestData().setMaxWaitMs(0).setMinBytes(1).setMaxBytes(1 << 20)
                    .setSessionEpoch(-1);
            if (v < 15) {
                request.setReplicaId(-1);
            }
            request.topics().add(topic);
            FetchResponseData response = (FetchResponseData) client.send(ApiKeys.FETCH, v, request);
            FetchResponseData.PartitionData p = response.responses().get(0).partitions().get(0);
            assertThat(p.errorCode()).as("fetch v%d", v).isEqualTo(Errors.NONE.code());
            assertThat(p.highWatermark()).as("fetch v%d", v).isEqualTo(11);
            assertThat(p.records().sizeInBytes()).as("fetch v%d", v).isGreaterThan(0);
        }
        for (short v = 1; v <= 10; v++) {
            ListOffsetsRequestData request = new ListOffsetsRequestData().setReplicaId(-1);
            request.topics().add(new ListOffsetsRequestData.ListOffsetsTopic().setName(TOPIC).setPartitions(List.of(
                    new ListOffsetsRequestData.ListOffsetsPartition().setPartitionIndex(0).setTimestamp(-1))));
            ListOffsetsResponseData response = (ListOffsetsResponseData) client.send(ApiKeys.LIST_OFFSETS, v,
                    request);
            ListOffsetsResponseData.ListOffsetsPartitionResponse p = response.topics().get(0).partitions().get(0);
            assertThat(p.errorCode()).as("list offsets v%d", v).isEqualTo(Errors.NONE.code());
            assertThat(p.offset()).as("list offsets v%d", v).isEqualTo(11);
        }
    }

    @Test
    void adminApisEveryVersion() throws Exception {
        for (short v = 0; v <= 5; v++) {
            InitProducerIdResponseData response = (InitProducerIdResponseData) client.send(ApiKeys.INIT_PRODUCER_ID,
                    v, new InitProducerIdRequestData().setTransactionalId(null).setTransactionTimeoutMs(60_000));
            assertThat(response.errorCode()).as("init producer id v%d", v).isEqualTo(Errors.NONE.code());
            assertThat(response.producerId()).as("init producer id v%d", v).isGreaterThanOrEqualTo(0);
        }
        for (short v = 1; v <= 4; v++) {
            DescribeConfigsRequestData request = new DescribeConfigsRequestData();
            request.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource().setResourceType((byte) 2)
                    .setResourceName(TOPIC).setConfigurationKeys(null));
            DescribeConfigsResponseData response = (DescribeConfigsResponseData) client.send(
                    ApiKeys.DESCRIBE_CONFIGS, v, request);
            assertThat(response.results().get(0).errorCode()).as("describe configs v%d", v).isZero();
            assertThat(response.results().get(0).configs()).as("describe configs v%d", v).isNotEmpty();
        }
        for (short v = 0; v <= 1; v++) {
            org.apache.kafka.common.message.IncrementalAlterConfigsRequestData request =
                    new org.apache.kafka.common.message.IncrementalAlterConfigsRequestData();
            org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource resource =
                    new org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource()
                            .setResourceType((byte) 2).setResourceName(TOPIC);
            resource.configs().add(new org.apache.kafka.common.message.IncrementalAlterConfigsRequestData
                    .AlterableConfig().setName("retention.ms").setConfigOperation((byte) 0).setValue("86400000"));
            request.resources().add(resource);
            org.apache.kafka.common.message.IncrementalAlterConfigsResponseData response =
                    (org.apache.kafka.common.message.IncrementalAlterConfigsResponseData) client.send(
                            ApiKeys.INCREMENTAL_ALTER_CONFIGS, v, request);
            assertThat(response.responses().get(0).errorCode()).as("incremental alter configs v%d", v).isZero();
        }
        for (short v = 0; v <= 2; v++) {
            org.apache.kafka.common.message.AlterConfigsRequestData request =
                    new org.apache.kafka.common.message.AlterConfigsRequestData();
            org.apache.kafka.common.message.AlterConfigsRequestData.AlterConfigsResource resource =
                    new org.apache.kafka.common.message.AlterConfigsRequestData.AlterConfigsResource()
                            .setResourceType((byte) 2).setResourceName(TOPIC);
            resource.configs().add(new org.apache.kafka.common.message.AlterConfigsRequestData.AlterableConfig()
                    .setName("retention.ms").setValue("86400000"));
            request.resources().add(resource);
            org.apache.kafka.common.message.AlterConfigsResponseData response =
                    (org.apache.kafka.common.message.AlterConfigsResponseData) client.send(ApiKeys.ALTER_CONFIGS, v,
                            request);
            assertThat(response.responses().get(0).errorCode()).as("alter configs v%d", v).isZero();
        }
        for (short v = 0; v <= 2; v++) {
            DescribeClusterResponseData response = (DescribeClusterResponseData) client.send(
                    ApiKeys.DESCRIBE_CLUSTER, v, new DescribeClusterRequestData());
            assertThat(response.errorCode()).as("describe cluster v%d", v).isZero();
            assertThat(response.brokers()).as("describe cluster v%d", v).hasSize(1);
        }
        for (short v = 2; v <= 4; v++) {
            OffsetForLeaderEpochRequestData request = new OffsetForLeaderEpochRequestData();
            if (v >= 3) {
                request.setReplicaId(-1);
            }
            OffsetForLeaderEpochRequestData.OffsetForLeaderTopic topic =
                    new OffsetForLeaderEpochRequestData.OffsetForLeaderTopic().setTopic(TOPIC);
            topic.partitions().add(new OffsetForLeaderEpochRequestData.OffsetForLeaderPartition().setPartition(0)
                    .setLeaderEpoch(0).setCurrentLeaderEpoch(0));
            request.topics().add(topic);
            OffsetForLeaderEpochResponseData response = (OffsetForLeaderEpochResponseData) client.send(
                    ApiKeys.OFFSET_FOR_LEADER_EPOCH, v, request);
            OffsetForLeaderEpochResponseData.EpochEndOffset p = response.topics().find(TOPIC).partitions().get(0);
            assertThat(p.errorCode()).as("offset for leader epoch v%d", v).isZero();
            assertThat(p.leaderEpoch()).as("offset for leader epoch v%d", v).isZero();
        }
        for (short v = 2; v <= 7; v++) {
            String name = "created-v" + v;
            CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
            create.topics().add(new CreateTopicsRequestData.CreatableTopic().setName(name).setNumPartitions(2)
                    .setReplicationFactor((short) 1));
            CreateTopicsResponseData created = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS, v,
                    create);
            assertThat(created.topics().find(name).errorCode()).as("create topics v%d", v).isZero();
        }
        for (short v = 1; v <= 6; v++) {
            String name = "created-v" + (v + 1);
            DeleteTopicsRequestData delete = new DeleteTopicsRequestData().setTimeoutMs(10_000);
            if (v >= 6) {
                delete.topics().add(new DeleteTopicsRequestData.DeleteTopicState().setName(name));
            } else {
                delete.topicNames().add(name);
            }
            DeleteTopicsResponseData deleted = (DeleteTopicsResponseData) client.send(ApiKeys.DELETE_TOPICS, v,
                    delete);
            assertThat(deleted.responses().find(name).errorCode()).as("delete topics v%d", v).isZero();
        }
    }

    @Test
    void consumerGroupApisEveryVersion() throws Exception {
        // FindCoordinator creates __consumer_offsets; a heartbeat is retried until its coordinator has loaded
        client.send(ApiKeys.FIND_COORDINATOR, (short) 4, new org.apache.kafka.common.message
                .FindCoordinatorRequestData().setKeyType((byte) 0).setCoordinatorKeys(List.of("v-group-0")));
        for (short v = 0; v <= 1; v++) {
            String group = "v-group-" + v;
            short version = v;
            org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData join =
                    new org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData().setGroupId(group)
                            .setMemberId(v == 0 ? "" : "member-v1").setMemberEpoch(0).setRebalanceTimeoutMs(30_000)
                            .setSubscribedTopicNames(List.of(TOPIC)).setTopicPartitions(new java.util.ArrayList<>());
            org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData[] joined =
                    new org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData[1];
            org.awaitility.Awaitility.await("consumer group heartbeat v" + v).atMost(java.time.Duration.ofSeconds(30))
                    .until(() -> {
                        joined[0] = (org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData) client
                                .send(ApiKeys.CONSUMER_GROUP_HEARTBEAT, version, join);
                        return joined[0].errorCode() == Errors.NONE.code();
                    });
            assertThat(joined[0].memberId()).as("v%d", v).isEqualTo(v == 0 ? joined[0].memberId() : "member-v1")
                    .isNotEmpty();
            assertThat(joined[0].memberEpoch()).as("v%d", v).isEqualTo(1);
            assertThat(joined[0].assignment().topicPartitions()).as("v%d", v).singleElement()
                    .satisfies(tp -> assertThat(tp.topicId()).isEqualTo(topicId));
            org.apache.kafka.common.message.ConsumerGroupDescribeResponseData described =
                    (org.apache.kafka.common.message.ConsumerGroupDescribeResponseData) client.send(
                            ApiKeys.CONSUMER_GROUP_DESCRIBE, v, new org.apache.kafka.common.message
                                    .ConsumerGroupDescribeRequestData().setGroupIds(List.of(group)));
            assertThat(described.groups().get(0).errorCode()).as("describe v%d", v).isZero();
            assertThat(described.groups().get(0).members()).as("describe v%d", v).singleElement()
                    .satisfies(m -> assertThat(m.memberId()).isEqualTo(joined[0].memberId()));
        }
        // Metadata by topic id as kafka-clients asks it (name left at its default ""), e.g. for a regex subscriber
        org.apache.kafka.common.message.MetadataRequestData byId = new org.apache.kafka.common.message
                .MetadataRequestData().setAllowAutoTopicCreation(false);
        byId.topics().add(new org.apache.kafka.common.message.MetadataRequestData.MetadataRequestTopic()
                .setTopicId(topicId).setName(""));
        org.apache.kafka.common.message.MetadataResponseData metadata =
                (org.apache.kafka.common.message.MetadataResponseData) client.send(ApiKeys.METADATA, (short) 12, byId);
        assertThat(metadata.topics()).singleElement().satisfies(t -> {
            assertThat(t.errorCode()).isZero();
            assertThat(t.name()).isEqualTo(TOPIC);
        });
    }

    @Test
    void createPartitionsEveryVersion() throws Exception {
        String name = "growing";
        CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(10_000);
        create.topics().add(new CreateTopicsRequestData.CreatableTopic().setName(name).setNumPartitions(1)
                .setReplicationFactor((short) 1));
        client.send(ApiKeys.CREATE_TOPICS, (short) 7, create);
        for (short v = 0; v <= 3; v++) {
            CreatePartitionsRequestData grow = new CreatePartitionsRequestData().setTimeoutMs(10_000);
            grow.topics().add(new CreatePartitionsRequestData.CreatePartitionsTopic().setName(name).setCount(v + 2)
                    .setAssignments(null));
            CreatePartitionsResponseData grown = (CreatePartitionsResponseData) client.send(
                    ApiKeys.CREATE_PARTITIONS, v, grow);
            assertThat(grown.results()).as("create partitions v%d", v).hasSize(1);
            assertThat(grown.results().get(0).errorCode()).as("create partitions v%d", v).isZero();
        }
    }

    @Test
    void electLeadersEveryVersion() throws Exception {
        for (short v = 0; v <= 2; v++) {
            // A named partition led by its only (preferred) replica: ELECTION_NOT_NEEDED, as Kafka answers
            org.apache.kafka.common.message.ElectLeadersRequestData named =
                    new org.apache.kafka.common.message.ElectLeadersRequestData().setTimeoutMs(10_000)
                            .setTopicPartitions(new org.apache.kafka.common.message.ElectLeadersRequestData
                                    .TopicPartitionsCollection(List.of(new org.apache.kafka.common.message
                                            .ElectLeadersRequestData.TopicPartitions().setTopic(TOPIC)
                                            .setPartitions(List.of(0, 7))).iterator()));
            org.apache.kafka.common.message.ElectLeadersResponseData answer =
                    (org.apache.kafka.common.message.ElectLeadersResponseData) client.send(ApiKeys.ELECT_LEADERS,
                            v, named);
            assertThat(answer.errorCode()).as("elect leaders v%d", v).isZero();
            assertThat(answer.replicaElectionResults()).as("elect leaders v%d", v).singleElement()
                    .satisfies(r -> assertThat(r.partitionResult()).extracting(p -> p.partitionId(),
                            p -> p.errorCode()).containsExactly(
                                    org.assertj.core.groups.Tuple.tuple(0, Errors.ELECTION_NOT_NEEDED.code()),
                                    org.assertj.core.groups.Tuple.tuple(7,
                                            Errors.UNKNOWN_TOPIC_OR_PARTITION.code())));
            // Every partition (null): nothing needed, so nothing listed
            org.apache.kafka.common.message.ElectLeadersResponseData all =
                    (org.apache.kafka.common.message.ElectLeadersResponseData) client.send(ApiKeys.ELECT_LEADERS,
                            v, new org.apache.kafka.common.message.ElectLeadersRequestData().setTimeoutMs(10_000)
                                    .setElectionType((byte) (v == 0 ? 0 : 1)).setTopicPartitions(null));
            assertThat(all.errorCode()).as("elect leaders all v%d", v).isZero();
            assertThat(all.replicaElectionResults()).as("elect leaders all v%d", v).isEmpty();
        }
    }
}
