package io.tributary.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.InvalidReplicaAssignmentException;
import org.apache.kafka.common.message.CreateTopicsRequestData;
import org.apache.kafka.common.message.CreateTopicsResponseData;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CreateTopics with a manual replica assignment on a real node (the 3-node placement is {@code CreatePartitionsIT}):
 * the admin client's {@code NewTopic(name, assignments)} creates the topic with those partitions, the response
 * carries the real counts, {@code validateOnly} creates nothing, and bad assignments get Kafka's errors.
 */
class CreateTopicsAssignmentTest {

    private NodeWithAdmin started;
    private InProcessNode node;
    private Admin admin;

    @BeforeEach
    void start(@TempDir Path dataDir) throws Exception {
        started = NodeWithAdmin.start(dataDir, Map.of());
        node = started.node;
        admin = started.admin;
    }

    @AfterEach
    void stop() {
        if (started != null) {
            started.close();
        }
    }

    @Test
    void createsTheGivenPartitionsOnTheGivenBroker() throws Exception {
        // When: three partitions, each assigned to broker 1
        var created = admin.createTopics(List.of(new NewTopic("manual", Map.of(0, List.of(1), 1, List.of(1),
                2, List.of(1)))));

        // Then: the answer and a describe show three partitions of one replica on broker 1
        assertThat(created.numPartitions("manual").get(30, TimeUnit.SECONDS)).isEqualTo(3);
        assertThat(created.replicationFactor("manual").get(30, TimeUnit.SECONDS)).isEqualTo(1);
        TopicDescription described = admin.describeTopics(List.of("manual")).allTopicNames()
                .get(30, TimeUnit.SECONDS).get("manual");
        assertThat(described.partitions()).hasSize(3).allSatisfy(p -> {
            assertThat(p.replicas()).extracting(n -> n.id()).containsExactly(1);
            assertThat(p.leader().id()).isEqualTo(1);
        });
    }

    @Test
    void validateOnlyChecksTheAssignmentAndCreatesNothing() throws Exception {
        admin.createTopics(List.of(new NewTopic("checked", Map.of(0, List.of(1)))),
                new CreateTopicsOptions().validateOnly(true)).all().get(30, TimeUnit.SECONDS);

        assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).doesNotContain("checked");
    }

    @Test
    void refusesAnUnregisteredBrokerAGapAndCountsBesideAnAssignmentWithKafkasErrors() throws Exception {
        // An unregistered broker: INVALID_REPLICA_ASSIGNMENT with Kafka's message
        assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("bad", Map.of(0, List.of(1, 5)))))
                .all().get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).cause().isInstanceOf(InvalidReplicaAssignmentException.class)
                .hasMessageContaining("includes broker 5, but no such broker is registered");
        // Partitions 0 and 2 without 1
        assertThatThrownBy(() -> admin.createTopics(List.of(new NewTopic("gap", Map.of(0, List.of(1),
                2, List.of(1))))).all().get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(InvalidReplicaAssignmentException.class)
                .hasMessageContaining("consecutive 0-based");
        // A partition count beside an assignment: INVALID_REQUEST, as Kafka
        try (WireClient client = new WireClient(node.port())) {
            CreateTopicsRequestData request = new CreateTopicsRequestData().setTimeoutMs(10_000);
            CreateTopicsRequestData.CreatableTopic topic = new CreateTopicsRequestData.CreatableTopic()
                    .setName("both").setNumPartitions(1).setReplicationFactor((short) -1);
            topic.assignments().add(new CreateTopicsRequestData.CreatableReplicaAssignment().setPartitionIndex(0)
                    .setBrokerIds(List.of(1)));
            request.topics().add(topic);
            CreateTopicsResponseData response = (CreateTopicsResponseData) client.send(ApiKeys.CREATE_TOPICS,
                    (short) 7, request);
            assertThat(response.topics().find("both").errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
            assertThat(response.topics().find("both").errorMessage())
                    .isEqualTo("A manual partition assignment was specified, but numPartitions was not set to -1.");
        }
        assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).doesNotContain("bad", "gap", "both");
    }
}
