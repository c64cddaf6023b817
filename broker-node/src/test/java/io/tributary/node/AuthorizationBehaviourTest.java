package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.message.DescribeAclsRequestData;
import org.apache.kafka.common.message.DescribeAclsResponseData;
import org.apache.kafka.common.message.DescribeConfigsRequestData;
import org.apache.kafka.common.message.DescribeConfigsResponseData;
import org.apache.kafka.common.message.FindCoordinatorRequestData;
import org.apache.kafka.common.message.FindCoordinatorResponseData;
import org.apache.kafka.common.message.InitProducerIdRequestData;
import org.apache.kafka.common.message.InitProducerIdResponseData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.ListGroupsResponseData;
import org.apache.kafka.common.message.MetadataRequestData;
import org.apache.kafka.common.message.MetadataResponseData;
import org.apache.kafka.common.message.ProduceRequestData;
import org.apache.kafka.common.message.ProduceResponseData;
import org.apache.kafka.common.message.TxnOffsetCommitRequestData;
import org.apache.kafka.common.message.TxnOffsetCommitResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Authorization at the byte level, as Kafka answers it: a node with ACLs on and none defined refuses a
 * PLAINTEXT client (User:ANONYMOUS) everything, each API with Kafka's error in Kafka's place, on every version the
 * client uses (a JoinGroup v5 refusal is still a well-formed answer); without an authorizer the ACL APIs answer
 * SECURITY_DISABLED; and nobody may append to an internal topic.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AuthorizationBehaviourTest {

    private InProcessNode secured;
    private InProcessNode open;

    @BeforeAll
    void start() throws Exception {
        secured = InProcessNode.start(Files.createTempDirectory("tributary-authz-"), Map.of(
                "authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"));
        open = InProcessNode.start(Files.createTempDirectory("tributary-open-"), Map.of());
        try (WireClient client = new WireClient(open.port())) {
            CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(30_000);
            create.topics().add(new CreateTopicsRequestData.CreatableTopic().setName("t").setNumPartitions(1)
                    .setReplicationFactor((short) 1));
            client.send(ApiKeys.CREATE_TOPICS, (short) 7, create);
        }
    }

    @AfterAll
    void stop() {
        secured.close();
        open.close();
    }

    @Test
    void aPrincipalWithoutAclsIsRefusedWithKafkasErrors() throws Exception {
        try (WireClient client = new WireClient(secured.port())) {
            CreateTopicsRequestData create = new CreateTopicsRequestData().setTimeoutMs(30_000);
            create.topics().add(new CreateTopicsRequestData.CreatableTopic().setName("t").setNumPartitions(1)
                    .setReplicationFactor((short) 1));
            CreateTopicsResponseData created = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS,
                    (short) 7, create);
            assertThat(created.topics().find("t").errorCode()).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED.code());

            MetadataResponseData all = (MetadataResponseData) client.send(ApiKeys.METADATA, (short) 12,
                    new MetadataRequestData().setTopics(null));
            assertThat(all.topics()).isEmpty();
            MetadataRequestData named = new MetadataRequestData().setAllowAutoTopicCreation(true);
            named.topics().add(new MetadataRequestData.MetadataRequestTopic().setName("no-such-topic"));
            MetadataResponseData one = (MetadataResponseData) client.send(ApiKeys.METADATA, (short) 12, named);
            assertThat(one.topics().find("no-such-topic").errorCode())
                    .as("refused whether it exists or not").isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED.code());

            for (short version : new short[] {5, 9}) {
                JoinGroupResponseData joined = (JoinGroupResponseData) client.send(ApiKeys.JOIN_GROUP, version,
                        new JoinGroupRequestData().setGroupId("g").setMemberId("").setProtocolType("consumer")
                                .setSessionTimeoutMs(10_000).setRebalanceTimeoutMs(10_000));
                assertThat(joined.errorCode()).as("JoinGroup v%d", version)
                        .isEqualTo(Errors.GROUP_AUTHORIZATION_FAILED.code());
            }
            FindCoordinatorResponseData coordinator = (FindCoordinatorResponseData) client.send(
                    ApiKeys.FIND_COORDINATOR, (short) 3, new FindCoordinatorRequestData().setKey("g"));
            assertThat(coordinator.errorCode()).isEqualTo(Errors.GROUP_AUTHORIZATION_FAILED.code());
            ListGroupsResponseData groups = (ListGroupsResponseData) client.send(ApiKeys.LIST_GROUPS, (short) 4,
                    new ListGroupsRequestData());
            assertThat(groups.errorCode()).isEqualTo(Errors.NONE.code());
            assertThat(groups.groups()).isEmpty();

            InitProducerIdResponseData producerId = (InitProducerIdResponseData) client.send(
                    ApiKeys.INIT_PRODUCER_ID, (short) 4, new InitProducerIdRequestData().setTransactionalId(null)
                            .setTransactionTimeoutMs(60_000).setProducerId(-1).setProducerEpoch((short) -1));
            assertThat(producerId.errorCode()).isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            // Kafka checks WRITE on the transactional id first, then READ on the group
            TxnOffsetCommitRequestData txnCommit = new TxnOffsetCommitRequestData().setTransactionalId("tx")
                    .setGroupId("g").setProducerId(1).setProducerEpoch((short) 0).setTopics(List.of(
                            new TxnOffsetCommitRequestData.TxnOffsetCommitRequestTopic().setName("t").setPartitions(
                                    List.of(new TxnOffsetCommitRequestData.TxnOffsetCommitRequestPartition()
                                            .setPartitionIndex(0).setCommittedOffset(1)))));
            TxnOffsetCommitResponseData txnCommitted = (TxnOffsetCommitResponseData) client.send(
                    ApiKeys.TXN_OFFSET_COMMIT, (short) 3, txnCommit);
            assertThat(txnCommitted.topics().get(0).partitions().get(0).errorCode())
                    .isEqualTo(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code());
            // The transaction APIs: DESCRIBE on the id to find its coordinator, WRITE to use it, CLUSTER_ACTION
            // for markers (Kafka's checks); __transaction_state is not created for a refused client
            org.apache.kafka.common.message.FindCoordinatorResponseData txnCoordinator =
                    (org.apache.kafka.common.message.FindCoordinatorResponseData) client.send(
                            ApiKeys.FIND_COORDINATOR, (short) 4,
                            new org.apache.kafka.common.message.FindCoordinatorRequestData().setKeyType((byte) 1)
                                    .setCoordinatorKeys(List.of("tx")));
            assertThat(txnCoordinator.coordinators().get(0).errorCode())
                    .isEqualTo(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code());
            InitProducerIdResponseData transactional = (InitProducerIdResponseData) client.send(
                    ApiKeys.INIT_PRODUCER_ID, (short) 4, new InitProducerIdRequestData().setTransactionalId("tx")
                            .setTransactionTimeoutMs(60_000).setProducerId(-1).setProducerEpoch((short) -1));
            assertThat(transactional.errorCode()).isEqualTo(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code());
            org.apache.kafka.common.message.EndTxnResponseData ended =
                    (org.apache.kafka.common.message.EndTxnResponseData) client.send(ApiKeys.END_TXN, (short) 3,
                            new org.apache.kafka.common.message.EndTxnRequestData().setTransactionalId("tx")
                                    .setProducerId(1).setProducerEpoch((short) 0).setCommitted(true));
            assertThat(ended.errorCode()).isEqualTo(Errors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code());
            org.apache.kafka.common.message.WriteTxnMarkersRequestData markers =
                    new org.apache.kafka.common.message.WriteTxnMarkersRequestData();
            markers.markers().add(new org.apache.kafka.common.message.WriteTxnMarkersRequestData.WritableTxnMarker()
                    .setProducerId(1).setProducerEpoch((short) 0).setTransactionResult(false).setCoordinatorEpoch(0)
                    .setTopics(List.of(new org.apache.kafka.common.message.WriteTxnMarkersRequestData
                            .WritableTxnMarkerTopic().setName("t").setPartitionIndexes(List.of(0)))));
            org.apache.kafka.common.message.WriteTxnMarkersResponseData written =
                    (org.apache.kafka.common.message.WriteTxnMarkersResponseData) client.send(
                            ApiKeys.WRITE_TXN_MARKERS, (short) 1, markers);
            assertThat(written.markers().get(0).topics().get(0).partitions().get(0).errorCode())
                    .isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            DescribeConfigsRequestData describe = new DescribeConfigsRequestData();
            describe.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType((byte) 4).setResourceName("1"));
            DescribeConfigsResponseData configs = (DescribeConfigsResponseData) client.send(
                    ApiKeys.DESCRIBE_CONFIGS, (short) 4, describe);
            assertThat(configs.results().get(0).errorCode()).isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            // ALTER_CONFIGS on the topic (refused whether it exists or not), on the cluster for a broker
            org.apache.kafka.common.message.IncrementalAlterConfigsRequestData alter =
                    new org.apache.kafka.common.message.IncrementalAlterConfigsRequestData();
            for (byte type : new byte[] {2, 4}) {
                org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource resource =
                        new org.apache.kafka.common.message.IncrementalAlterConfigsRequestData.AlterConfigsResource()
                                .setResourceType(type).setResourceName(type == 2 ? "t" : "1");
                resource.configs().add(new org.apache.kafka.common.message.IncrementalAlterConfigsRequestData
                        .AlterableConfig().setName("retention.ms").setConfigOperation((byte) 0).setValue("1000"));
                alter.resources().add(resource);
            }
            org.apache.kafka.common.message.IncrementalAlterConfigsResponseData altered =
                    (org.apache.kafka.common.message.IncrementalAlterConfigsResponseData) client.send(
                            ApiKeys.INCREMENTAL_ALTER_CONFIGS, (short) 1, alter);
            assertThat(altered.responses().get(0).errorCode()).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED.code());
            assertThat(altered.responses().get(1).errorCode())
                    .isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            DescribeAclsResponseData acls = (DescribeAclsResponseData) client.send(ApiKeys.DESCRIBE_ACLS,
                    (short) 3, anyAcl());
            assertThat(acls.errorCode()).isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            // CreatePartitions needs ALTER on the topic, refused whether the topic exists or not
            org.apache.kafka.common.message.CreatePartitionsRequestData grow =
                    new org.apache.kafka.common.message.CreatePartitionsRequestData().setTimeoutMs(30_000);
            grow.topics().add(new org.apache.kafka.common.message.CreatePartitionsRequestData.CreatePartitionsTopic()
                    .setName("t").setCount(6).setAssignments(null));
            org.apache.kafka.common.message.CreatePartitionsResponseData grown =
                    (org.apache.kafka.common.message.CreatePartitionsResponseData) client.send(
                            ApiKeys.CREATE_PARTITIONS, (short) 3, grow);
            assertThat(grown.results().get(0).errorCode()).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED.code());
            // DeleteRecords needs DELETE on the topic, whether it exists or not (Kafka's check comes first)
            org.apache.kafka.common.message.DeleteRecordsRequestData deleteRecords =
                    new org.apache.kafka.common.message.DeleteRecordsRequestData().setTimeoutMs(10_000);
            deleteRecords.topics().add(new org.apache.kafka.common.message.DeleteRecordsRequestData
                    .DeleteRecordsTopic().setName("t").setPartitions(List.of(new org.apache.kafka.common.message
                            .DeleteRecordsRequestData.DeleteRecordsPartition().setPartitionIndex(0).setOffset(0))));
            org.apache.kafka.common.message.DeleteRecordsResponseData deleted =
                    (org.apache.kafka.common.message.DeleteRecordsResponseData) client.send(ApiKeys.DELETE_RECORDS,
                            (short) 2, deleteRecords);
            assertThat(deleted.topics().find("t").partitions().find(0).errorCode())
                    .isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED.code());
            // ElectLeaders needs ALTER on the cluster: the request (v1+) and every named partition are refused
            for (short v = 0; v <= 2; v++) {
                org.apache.kafka.common.message.ElectLeadersRequestData elect =
                        new org.apache.kafka.common.message.ElectLeadersRequestData().setTimeoutMs(10_000)
                                .setTopicPartitions(new org.apache.kafka.common.message.ElectLeadersRequestData
                                        .TopicPartitionsCollection(List.of(new org.apache.kafka.common.message
                                                .ElectLeadersRequestData.TopicPartitions().setTopic("t")
                                                .setPartitions(List.of(0, 1))).iterator()));
                org.apache.kafka.common.message.ElectLeadersResponseData elected =
                        (org.apache.kafka.common.message.ElectLeadersResponseData) client.send(
                                ApiKeys.ELECT_LEADERS, v, elect);
                assertThat(elected.errorCode()).as("v%d", v).isEqualTo(v == 0 ? (short) 0
                        : Errors.CLUSTER_AUTHORIZATION_FAILED.code());
                assertThat(elected.replicaElectionResults().get(0).partitionResult()).as("v%d", v).hasSize(2)
                        .allMatch(r -> r.errorCode() == Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            }
            // Reassignments need ALTER (alter) and DESCRIBE (list) on the cluster; the refusal is at the top and for
            // every partition, as Kafka's getErrorResponse
            org.apache.kafka.common.message.AlterPartitionReassignmentsRequestData reassign =
                    new org.apache.kafka.common.message.AlterPartitionReassignmentsRequestData();
            reassign.topics().add(new org.apache.kafka.common.message.AlterPartitionReassignmentsRequestData
                    .ReassignableTopic().setName("t").setPartitions(List.of(new org.apache.kafka.common.message
                            .AlterPartitionReassignmentsRequestData.ReassignablePartition().setPartitionIndex(0)
                            .setReplicas(List.of(1)))));
            org.apache.kafka.common.message.AlterPartitionReassignmentsResponseData reassigned =
                    (org.apache.kafka.common.message.AlterPartitionReassignmentsResponseData) client.send(
                            ApiKeys.ALTER_PARTITION_REASSIGNMENTS, (short) 0, reassign);
            assertThat(reassigned.errorCode()).isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            assertThat(reassigned.responses().get(0).partitions().get(0).errorCode())
                    .isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            org.apache.kafka.common.message.ListPartitionReassignmentsResponseData listed =
                    (org.apache.kafka.common.message.ListPartitionReassignmentsResponseData) client.send(
                            ApiKeys.LIST_PARTITION_REASSIGNMENTS, (short) 0,
                            new org.apache.kafka.common.message.ListPartitionReassignmentsRequestData());
            assertThat(listed.errorCode()).isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
            // UnregisterBroker needs ALTER on the cluster
            org.apache.kafka.common.message.UnregisterBrokerResponseData unregistered =
                    (org.apache.kafka.common.message.UnregisterBrokerResponseData) client.send(
                            ApiKeys.UNREGISTER_BROKER, (short) 0,
                            new org.apache.kafka.common.message.UnregisterBrokerRequestData().setBrokerId(1));
            assertThat(unregistered.errorCode()).isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
        }
    }

    private static DescribeAclsRequestData anyAcl() {
        return new DescribeAclsRequestData().setResourceTypeFilter((byte) 1).setPatternTypeFilter((byte) 1)
                .setOperation((byte) 1).setPermissionType((byte) 1);
    }

    @Test
    void describeLogDirsWithoutDescribeOnTheClusterGetsNoResults() throws Exception {
        try (WireClient client = new WireClient(secured.port())) {
            for (short v : new short[] {2, 4}) {
                // When: a principal without DESCRIBE on the cluster asks for every log dir
                org.apache.kafka.common.message.DescribeLogDirsResponseData dirs =
                        (org.apache.kafka.common.message.DescribeLogDirsResponseData) client.send(
                                ApiKeys.DESCRIBE_LOG_DIRS, v,
                                new org.apache.kafka.common.message.DescribeLogDirsRequestData().setTopics(null));

                // Then: Kafka's answer: no results, and CLUSTER_AUTHORIZATION_FAILED where the field exists (v3+)
                assertThat(dirs.results()).as("v%d", v).isEmpty();
                assertThat(dirs.errorCode()).as("v%d", v).isEqualTo(v >= 3
                        ? Errors.CLUSTER_AUTHORIZATION_FAILED.code() : Errors.NONE.code());
            }
        }
    }

    @Test
    void groupAndClientMetricsConfigsNeedDescribeConfigsOnTheGroupOrTheCluster() throws Exception {
        try (WireClient client = new WireClient(secured.port())) {
            DescribeConfigsRequestData request = new DescribeConfigsRequestData();
            request.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType((byte) 32).setResourceName("g"));
            request.resources().add(new DescribeConfigsRequestData.DescribeConfigsResource()
                    .setResourceType((byte) 16).setResourceName("sub"));

            DescribeConfigsResponseData response = (DescribeConfigsResponseData) client.send(
                    ApiKeys.DESCRIBE_CONFIGS, (short) 4, request);

            assertThat(response.results().get(0).errorCode()).isEqualTo(Errors.GROUP_AUTHORIZATION_FAILED.code());
            assertThat(response.results().get(1).errorCode()).isEqualTo(Errors.CLUSTER_AUTHORIZATION_FAILED.code());
        }
    }

    @Test
    void withoutAnAuthorizerTheAclApisAnswerSecurityDisabled() throws Exception {
        try (WireClient client = new WireClient(open.port())) {
            DescribeAclsResponseData acls = (DescribeAclsResponseData) client.send(ApiKeys.DESCRIBE_ACLS,
                    (short) 3, anyAcl());
            assertThat(acls.errorCode()).isEqualTo(Errors.SECURITY_DISABLED.code());
        }
    }

    @Test
    void nobodyAppendsToAnInternalTopic() throws Exception {
        try (WireClient client = new WireClient(open.port())) {
            for (String topic : List.of("__consumer_offsets", "t")) {
                ProduceRequestData produce = new ProduceRequestData().setAcks((short) 1).setTimeoutMs(10_000);
                ProduceRequestData.TopicProduceData data = new ProduceRequestData.TopicProduceData().setName(topic);
                data.partitionData().add(new ProduceRequestData.PartitionProduceData().setIndex(0)
                        .setRecords(MemoryRecords.withRecords(Compression.NONE, new SimpleRecord("v".getBytes()))));
                produce.topicData().add(data);
                ProduceResponseData answer = (ProduceResponseData) client.send(ApiKeys.PRODUCE, (short) 9, produce);
                short error = answer.responses().iterator().next().partitionResponses().get(0).errorCode();
                assertThat(error).as(topic).isEqualTo(topic.startsWith("__")
                        ? Errors.INVALID_TOPIC_EXCEPTION.code() : Errors.NONE.code());
            }
        }
    }
}
