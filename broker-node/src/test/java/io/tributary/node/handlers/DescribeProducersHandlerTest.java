package io.tributary.node.handlers;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.MetadataImage;
import io.tributary.metadata.Uuids;
import io.tributary.node.NodeConfig;
import io.tributary.node.security.Acls;
import io.tributary.node.security.NodeAuthorizer;
import io.tributary.proto.metadata.CreateTopicRecord;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.RegisterBrokerRecord;
import io.tributary.proto.metadata.UnfenceBrokerRecord;
import io.tributary.replication.PartitionId;
import io.tributary.replication.ReplicaManager;
import io.tributary.replication.ReplicationConfig;
import io.tributary.storage.LogConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.message.DescribeProducersRequestData;
import org.apache.kafka.common.message.DescribeProducersResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.SimpleRecord;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DescribeProducers' checks and errors on node 1 with a real replica manager and ACLs on: topic {@code led} is led
 * here; {@code followed} has partition 0 led by node 2 and followed here, and partition 1 on node 2 only.
 * {@code User:reader} may READ every topic, {@code User:describer} only DESCRIBE them. Answers over the wire with
 * kafka-clients' Admin are in {@code DescribeProducersTest}.
 */
class DescribeProducersHandlerTest {
    private static final int LOCAL = 1;
    private static final int OTHER = 2;
    private static final String LED = "led";
    private static final String FOLLOWED = "followed";

    @TempDir
    Path dir;
    private ReplicaManager replicas;
    private DescribeProducersHandler handler;

    @BeforeEach
    void open() throws Exception {
        MetadataImage image = image();
        replicas = new ReplicaManager(LOCAL, dir, LogConfig.DEFAULTS, Clock.systemUTC(), ReplicationConfig.DEFAULTS);
        replicas.onImage(MetadataImage.EMPTY, image);
        NodeAuthorizer authorizer = new NodeAuthorizer(new NodeConfig.Authorization(true, Set.of(), false),
                () -> image);
        handler = new DescribeProducersHandler(new NodeServices(null, "cluster", null, null, replicas, null, null,
                authorizer, null));
    }

    @AfterEach
    void close() {
        replicas.close();
    }

    @Test
    void answersTheLeadersProducersSortedByProducerId() throws Exception {
        // Given two idempotent producers on a partition led here
        PartitionId tp = new PartitionId(LED, 0);
        append(tp, MemoryRecords.withIdempotentRecords(Compression.NONE, 9, (short) 2, 0,
                new SimpleRecord(1_000L, null, "a".getBytes()), new SimpleRecord(1_500L, null, "b".getBytes())));
        append(tp, MemoryRecords.withIdempotentRecords(Compression.NONE, 4, (short) 0, 0,
                new SimpleRecord(2_000L, null, "c".getBytes())));

        // When a principal allowed to READ the topic describes its producers
        DescribeProducersResponseData.PartitionResponse answer = describe("reader", LED, 0).get(0);

        // Then both are answered, in producer id order, with their epoch, last sequence and timestamp
        assertThat(answer.errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(answer.activeProducers()).extracting(p -> p.producerId()).containsExactly(4L, 9L);
        DescribeProducersResponseData.ProducerState nine = answer.activeProducers().get(1);
        assertThat(nine.producerEpoch()).isEqualTo(2);
        assertThat(nine.lastSequence()).isEqualTo(1);
        assertThat(nine.lastTimestamp()).isEqualTo(1_500L);
        assertThat(nine.coordinatorEpoch()).isEqualTo(-1);
        assertThat(nine.currentTxnStartOffset()).isEqualTo(-1L);
    }

    @Test
    void aFollowerAnswersFromItsReplicaAndANodeWithoutAReplicaAnswersNotLeaderOrFollower() throws Exception {
        // When the producers of a partition followed here, and of one hosted on node 2 only, are asked for
        List<DescribeProducersResponseData.PartitionResponse> answers = describe("reader", FOLLOWED, 0, 1);

        // Then the follower answers from its own replica (as Kafka does, for --broker-id), and the partition without a
        // replica here answers NOT_LEADER_OR_FOLLOWER, with no producers
        assertThat(answers).extracting(p -> p.partitionIndex()).containsExactly(0, 1);
        assertThat(answers.get(0).errorCode()).isEqualTo(Errors.NONE.code());
        assertThat(answers.get(1).errorCode()).isEqualTo(Errors.NOT_LEADER_OR_FOLLOWER.code());
        assertThat(answers.get(1).activeProducers()).isEmpty();
    }

    @Test
    void answersUnknownTopicOrPartitionForWhatDoesNotExistAndInvalidTopicForAnIllegalName() throws Exception {
        assertThat(describe("reader", LED, 7).get(0).errorCode())
                .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(describe("reader", "no-such-topic", 0).get(0).errorCode())
                .isEqualTo(Errors.UNKNOWN_TOPIC_OR_PARTITION.code());
        assertThat(describe("reader", "bad/name", 0).get(0).errorCode())
                .isEqualTo(Errors.INVALID_TOPIC_EXCEPTION.code());
    }

    @Test
    void refusesAPrincipalWithoutReadOnTheTopic() throws Exception {
        // Given a producer on a partition led here
        PartitionId tp = new PartitionId(LED, 0);
        append(tp, MemoryRecords.withIdempotentRecords(Compression.NONE, 9, (short) 0, 0,
                new SimpleRecord("a".getBytes())));

        // When principals that may only DESCRIBE the topic, or nothing, ask for its producers
        // Then every requested partition is refused, as Kafka does (READ, not DESCRIBE), and nothing is revealed
        for (String principal : List.of("describer", "stranger")) {
            List<DescribeProducersResponseData.PartitionResponse> answers = describe(principal, LED, 0, 3);
            assertThat(answers).as(principal).extracting(p -> p.partitionIndex()).containsExactly(0, 3);
            assertThat(answers).as(principal).allSatisfy(p -> {
                assertThat(p.errorCode()).isEqualTo(Errors.TOPIC_AUTHORIZATION_FAILED.code());
                assertThat(p.activeProducers()).isEmpty();
            });
        }
        assertThat(describe("reader", LED, 0).get(0).activeProducers()).hasSize(1);
    }

    private void append(PartitionId tp, MemoryRecords records) {
        replicas.appendAsLeader(tp, -1, records.buffer(), 1).result();
    }

    /** Describes the producers of {@code partitions} of {@code topic} as {@code User:<principal>}. */
    private List<DescribeProducersResponseData.PartitionResponse> describe(String principal, String topic,
            int... partitions) throws Exception {
        DescribeProducersRequestData request = new DescribeProducersRequestData();
        DescribeProducersRequestData.TopicRequest t = new DescribeProducersRequestData.TopicRequest().setName(topic);
        for (int p : partitions) {
            t.partitionIndexes().add(p);
        }
        request.topics().add(t);
        // an SSL client whose certificate subject is the principal's name: User:<principal>
        RequestContext context = new RequestContext(new RequestHeader(ApiKeys.DESCRIBE_PRODUCERS, (short) 0, "test",
                1), "127.0.0.1:5555", "SSL", null, principal, ConnectionClose.never());
        DescribeProducersResponseData response = (DescribeProducersResponseData) handler.handle(context, request)
                .get();
        assertThat(response.topics()).singleElement().satisfies(r -> assertThat(r.name()).isEqualTo(topic));
        return response.topics().get(0).partitions();
    }

    private static MetadataImage image() {
        MetadataImage image = MetadataImage.EMPTY.apply(MetadataRecord.newBuilder().setRegisterBroker(
                RegisterBrokerRecord.newBuilder().setBrokerId(OTHER).setIncarnationId("i2")).build(), 1);
        image = image.apply(MetadataRecord.newBuilder().setUnfenceBroker(UnfenceBrokerRecord.newBuilder()
                .setBrokerId(OTHER).setBrokerEpoch(image.brokers().get(OTHER).brokerEpoch())).build(), 2);
        image = image.apply(topic(LED, partition(0, LOCAL, List.of(LOCAL))), 3);
        image = image.apply(topic(FOLLOWED, partition(0, OTHER, List.of(OTHER, LOCAL)),
                partition(1, OTHER, List.of(OTHER))), 4);
        image = image.apply(acl("User:reader", AclOperation.READ), 5);
        return image.apply(acl("User:describer", AclOperation.DESCRIBE), 6);
    }

    private static PartitionRecord partition(int index, int leader, List<Integer> replicas) {
        return PartitionRecord.newBuilder().setPartition(index).addAllReplicas(replicas).addAllIsr(replicas)
                .setLeader(leader).setLeaderEpoch(0).setPartitionEpoch(0).build();
    }

    private static MetadataRecord topic(String name, PartitionRecord... partitions) {
        return MetadataRecord.newBuilder().setCreateTopic(CreateTopicRecord.newBuilder().setName(name)
                .setTopicId(Uuids.toProto(UUID.randomUUID())).addAllPartitions(List.of(partitions))).build();
    }

    /** {@code principal} allowed {@code operation} on every topic. */
    private static MetadataRecord acl(String principal, AclOperation operation) {
        AclBinding binding = new AclBinding(new ResourcePattern(ResourceType.TOPIC, "*", PatternType.LITERAL),
                new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
        return MetadataRecord.newBuilder().setAccessControlEntry(Acls.toRecord(binding).toBuilder()
                .setId(Uuids.toProto(UUID.randomUUID()))).build();
    }
}
