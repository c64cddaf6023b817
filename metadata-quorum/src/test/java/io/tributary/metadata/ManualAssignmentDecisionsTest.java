package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.ControllerDecisions.ManualAssignment;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * CreateTopics with a manual replica assignment on the controller ({@code kafka-topics --replica-assignment}):
 * replicas placed exactly as given with the first live one leading, Kafka's checks and messages, and the created
 * topic surviving a snapshot.
 */
class ManualAssignmentDecisionsTest {

    private static final UUID TOPIC_ID = new UUID(9, 9);

    private static ControllerResult<TopicImage> create(MetadataImage image, int partitions, int replicationFactor,
            List<ManualAssignment> assignments) {
        return ControllerDecisions.createTopicWithAssignments(image, "m", partitions, replicationFactor, assignments,
                Map.of("retention.ms", "1000"), TOPIC_ID);
    }

    private static ManualAssignment a(int partition, Integer... replicas) {
        return new ManualAssignment(partition, List.of(replicas));
    }

    @Test
    void placesReplicasExactlyAsGivenWithTheFirstAsLeader() {
        // Given: four live brokers
        MetadataImage image = Images.live(1, 2, 3, 4);

        // When: partitions given out of order, replicas in an order the round robin would never choose
        ControllerResult<TopicImage> result = create(image, -1, -1, List.of(a(1, 4, 1), a(0, 3, 2), a(2, 2, 4)));
        MetadataImage created = Images.replay(image, result);

        // Then: each partition holds exactly its list, led by its first replica, all in sync
        TopicImage topic = created.topic(TOPIC_ID);
        assertThat(topic.partitions()).extracting(PartitionImage::replicas)
                .containsExactly(List.of(3, 2), List.of(4, 1), List.of(2, 4));
        assertThat(topic.partitions()).extracting(PartitionImage::leader).containsExactly(3, 4, 2);
        assertThat(topic.partitions()).allSatisfy(p -> assertThat(p.isr()).isEqualTo(p.replicas()));
        assertThat(topic.configs()).containsEntry("retention.ms", "1000");
        assertThat(result.response()).isEqualTo(topic);
        assertThat(MetadataImage.fromSnapshot(created.toSnapshot())).isEqualTo(created);
    }

    @Test
    void aFencedFirstReplicaLeavesTheIsrAndTheNextLiveOneLeads() {
        MetadataImage image = Images.fencedOnly(Images.live(1, 2, 3), 3);

        MetadataImage created = Images.replay(image, create(image, -1, -1, List.of(a(0, 3, 1, 2))));

        PartitionImage p = created.topic(TOPIC_ID).partition(0);
        assertThat(p.replicas()).containsExactly(3, 1, 2);
        assertThat(p.isr()).containsExactly(1, 2);
        assertThat(p.leader()).isEqualTo(1);
    }

    @Test
    void refusesWhatKafkaRefusesWithItsMessages() {
        MetadataImage image = Images.fencedOnly(Images.live(1, 2, 3), 3);
        record Case(int partitions, int factor, List<ManualAssignment> assignments, ControllerError error,
                String message) {}
        List<Case> cases = List.of(
                new Case(-1, 2, List.of(a(0, 1, 2)), ControllerError.INVALID_REQUEST, "A manual partition assignment"
                        + " was specified, but replication factor was not set to -1."),
                new Case(1, -1, List.of(a(0, 1, 2)), ControllerError.INVALID_REQUEST, "A manual partition assignment"
                        + " was specified, but numPartitions was not set to -1."),
                new Case(-1, -1, List.of(a(0, 1, 2), a(0, 2, 1)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "Found multiple manual partition assignments for partition 0"),
                new Case(-1, -1, List.of(a(0, 1, 2), a(1, 2)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes a partition with 1 replica(s), but this is not"
                                + " consistent with previous partitions, which have 2 replica(s)."),
                new Case(-1, -1, List.of(a(0, 1, 9)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes broker 9, but no such broker is registered."),
                new Case(-1, -1, List.of(a(0, 2, 1, 2)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes the broker 2 more than once."),
                new Case(-1, -1, List.of(a(0)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes an empty replica list."),
                new Case(-1, -1, List.of(a(0, 3)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "All brokers specified in the manual partition assignment for partition 0 are fenced or in"
                                + " controlled shutdown."),
                new Case(-1, -1, List.of(a(0, 1), a(2, 2)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "partitions should be a consecutive 0-based integer sequence"));
        for (Case c : cases) {
            ControllerResult<TopicImage> result = create(image, c.partitions(), c.factor(), c.assignments());
            assertThat(result.error()).as("%s", c).isEqualTo(c.error());
            assertThat(result.message()).as("%s", c).isEqualTo(c.message());
            assertThat(result.records()).as("%s", c).isEmpty();
        }
        // An existing name is refused before the assignment is looked at
        MetadataImage withTopic = Images.replay(image, create(image, -1, -1, List.of(a(0, 1))));
        assertThat(ControllerDecisions.createTopicWithAssignments(withTopic, "m", -1, -1, List.of(a(0, 9)), Map.of(),
                new UUID(1, 1)).error()).isEqualTo(ControllerError.TOPIC_ALREADY_EXISTS);
    }
}
