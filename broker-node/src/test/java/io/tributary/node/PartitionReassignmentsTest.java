package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.PartitionReassignment;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidReplicaAssignmentException;
import org.apache.kafka.common.errors.NoReassignmentInProgressException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.message.AlterPartitionReassignmentsRequestData;
import org.apache.kafka.common.message.AlterPartitionReassignmentsResponseData;
import org.apache.kafka.common.message.ListPartitionReassignmentsRequestData;
import org.apache.kafka.common.message.ListPartitionReassignmentsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * AlterPartitionReassignments and ListPartitionReassignments through kafka-clients' Admin against one node: Kafka's
 * errors per partition (unknown partition, unknown broker, duplicates, empty list, nothing to cancel), a target equal
 * to the current replicas changes nothing, the listing is empty, and both answer on every served version. The data
 * movement itself needs several nodes: ReassignPartitionsIT and the replication simulation.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PartitionReassignmentsTest {

    private InProcessNode node;
    private Admin admin;

    @BeforeAll
    void start(@TempDir Path dataDir) throws Exception {
        node = InProcessNode.start(dataDir, Map.of());
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, node.bootstrap()));
        admin.createTopics(List.of(new NewTopic("moved", 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    @AfterAll
    void stop() {
        admin.close();
        node.close();
    }

    private Throwable alterFails(TopicPartition tp, Optional<NewPartitionReassignment> target) {
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
                admin.alterPartitionReassignments(Map.of(tp, target)).values().get(tp).get(30, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void refusesWhatKafkaRefusesPartitionByPartition() {
        int self = 1;
        assertThat(alterFails(new TopicPartition("nope", 0), Optional.of(new NewPartitionReassignment(List.of(self)))))
                .isInstanceOf(UnknownTopicOrPartitionException.class);
        assertThat(alterFails(new TopicPartition("moved", 7), Optional.of(new NewPartitionReassignment(List.of(self)))))
                .isInstanceOf(UnknownTopicOrPartitionException.class);
        assertThat(alterFails(new TopicPartition("moved", 0), Optional.of(new NewPartitionReassignment(
                List.of(self, 42))))).isInstanceOf(InvalidReplicaAssignmentException.class)
                .hasMessageContaining("broker 42, but no such broker is registered");
        assertThat(alterFails(new TopicPartition("moved", 0), Optional.of(new NewPartitionReassignment(
                List.of(self, self))))).isInstanceOf(InvalidReplicaAssignmentException.class)
                .hasMessageContaining("more than once");
        assertThat(alterFails(new TopicPartition("moved", 0), Optional.empty()))
                .isInstanceOf(NoReassignmentInProgressException.class);
    }

    @Test
    void aTargetEqualToTheReplicasChangesNothingAndNothingIsListed() throws Exception {
        // Given partition 1 on this node only
        TopicPartition tp = new TopicPartition("moved", 1);

        // When it is "reassigned" to the same replica
        admin.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(
                List.of(1))))).all().get(30, TimeUnit.SECONDS);

        // Then nothing is in progress, for the partition or the cluster, and the replicas stay
        Map<TopicPartition, PartitionReassignment> listed = admin.listPartitionReassignments(Set.of(tp))
                .reassignments().get(30, TimeUnit.SECONDS);
        assertThat(listed).isEmpty();
        assertThat(admin.listPartitionReassignments().reassignments().get(30, TimeUnit.SECONDS)).isEmpty();
        assertThat(admin.describeTopics(List.of("moved")).allTopicNames().get(30, TimeUnit.SECONDS).get("moved")
                .partitions().get(1).replicas()).extracting(n -> n.id()).containsExactly(1);
    }

    @Test
    void everyServedVersionAnswers() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            for (short v = 0; v <= 1; v++) {
                AlterPartitionReassignmentsRequestData alter = new AlterPartitionReassignmentsRequestData();
                alter.topics().add(new AlterPartitionReassignmentsRequestData.ReassignableTopic().setName("moved")
                        .setPartitions(List.of(new AlterPartitionReassignmentsRequestData.ReassignablePartition()
                                .setPartitionIndex(0).setReplicas(null))));
                AlterPartitionReassignmentsResponseData altered = (AlterPartitionReassignmentsResponseData)
                        client.send(ApiKeys.ALTER_PARTITION_REASSIGNMENTS, v, alter);
                assertThat(altered.errorCode()).as("v%d", v).isZero();
                assertThat(altered.responses().get(0).partitions().get(0).errorCode()).as("v%d", v)
                        .isEqualTo(Errors.NO_REASSIGNMENT_IN_PROGRESS.code());
            }
            ListPartitionReassignmentsResponseData listed = (ListPartitionReassignmentsResponseData) client.send(
                    ApiKeys.LIST_PARTITION_REASSIGNMENTS, (short) 0,
                    new ListPartitionReassignmentsRequestData().setTopics(null));
            assertThat(listed.errorCode()).isZero();
            assertThat(listed.topics()).isEmpty();
        }
    }

    @Test
    void disallowingAReplicationFactorChangeRefusesATargetOfAnotherSize() {
        // Given a topic of replication factor 1 on a one-node cluster, asked (v1, KIP-860) for 2 replicas
        TopicPartition tp = new TopicPartition("moved", 0);
        assertThatThrownBy(() -> admin.alterPartitionReassignments(Map.of(tp, Optional.of(
                new NewPartitionReassignment(List.of(1, 2)))),
                new org.apache.kafka.clients.admin.AlterPartitionReassignmentsOptions()
                        .allowReplicationFactorChange(false)).all().get(30, TimeUnit.SECONDS))
                .hasCauseInstanceOf(org.apache.kafka.common.errors.InvalidReplicationFactorException.class);
    }

    @Test
    void unregisterBrokerRefusesAnUnknownBrokerAndOneThatHostsReplicas() throws Exception {
        try (WireClient client = new WireClient(node.port())) {
            org.apache.kafka.common.message.UnregisterBrokerResponseData unknown =
                    (org.apache.kafka.common.message.UnregisterBrokerResponseData) client.send(
                            ApiKeys.UNREGISTER_BROKER, (short) 0,
                            new org.apache.kafka.common.message.UnregisterBrokerRequestData().setBrokerId(7));
            assertThat(unknown.errorCode()).isEqualTo(Errors.BROKER_ID_NOT_REGISTERED.code());
        }
        assertThatThrownBy(() -> admin.unregisterBroker(1).all().get(30, TimeUnit.SECONDS))
                .hasCauseInstanceOf(org.apache.kafka.common.errors.InvalidRequestException.class)
                .hasMessageContaining("still hosts");
    }
}
