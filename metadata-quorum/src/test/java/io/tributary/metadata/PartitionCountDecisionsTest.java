package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.CreatePartitionsRecord;
import io.tributary.proto.metadata.CreatePartitionsRequest;
import io.tributary.proto.metadata.CreateTopicRequest;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.PartitionRecord;
import io.tributary.proto.metadata.ReplicaAssignment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CreatePartitions on the controller: validation (Kafka's errors and messages), placement over live brokers that
 * continues the topic's round robin, the record applied to the image (and skipped when stale), and a retried
 * request answered once.
 */
class PartitionCountDecisionsTest {

    private static final UUID TOPIC_ID = new UUID(7, 7);

    /** Three live brokers and topic "t" with 3 partitions of 2 replicas, as createTopic placed them. */
    private static MetadataImage threeBrokersAndTopic() {
        MetadataImage image = Images.live(1, 2, 3);
        return Images.replay(image, ControllerDecisions.createTopic(image, "t", 3, 2, Map.of(), TOPIC_ID));
    }

    private static ControllerResult<List<PartitionImage>> grow(MetadataImage image, String name, int count,
            List<List<Integer>> assignments) {
        return PartitionCountDecisions.createPartitions(image, name, count, assignments);
    }

    @Test
    void growsATopicFromThreeToSixWithReplicasSpreadOverLiveBrokers() {
        MetadataImage image = threeBrokersAndTopic();

        ControllerResult<List<PartitionImage>> result = grow(image, "t", 6, List.of());
        MetadataImage grown = Images.replay(image, result);

        TopicImage topic = grown.topic(TOPIC_ID);
        assertThat(topic.partitions()).hasSize(6);
        // Partitions 0-2 unchanged; 3-5 continue the round robin: leaders 1, 2, 3 again.
        assertThat(topic.partitions().subList(0, 3)).isEqualTo(image.topic(TOPIC_ID).partitions());
        assertThat(topic.partitions().subList(3, 6)).extracting(PartitionImage::replicas)
                .containsExactly(List.of(1, 2), List.of(2, 3), List.of(3, 1));
        for (PartitionImage p : topic.partitions().subList(3, 6)) {
            assertThat(p.isr()).isEqualTo(p.replicas());
            assertThat(p.leader()).isEqualTo(p.replicas().get(0));
            assertThat(p.leaderEpoch()).isZero();
            assertThat(p.partitionEpoch()).isZero();
        }
        assertThat(result.response()).isEqualTo(topic.partitions().subList(3, 6));
        // The grown topic survives a snapshot round trip.
        assertThat(MetadataImage.fromSnapshot(grown.toSnapshot())).isEqualTo(grown);
    }

    @Test
    void placesOnlyOnLiveBrokers() {
        MetadataImage image = Images.fencedOnly(threeBrokersAndTopic(), 3);

        MetadataImage grown = Images.replay(image, grow(image, "t", 5, List.of()));

        assertThat(grown.topic(TOPIC_ID).partitions().subList(3, 5)).allSatisfy(p ->
                assertThat(p.replicas()).doesNotContain(3).hasSize(2));
    }

    @Test
    void refusesWhatKafkaRefuses() {
        MetadataImage image = threeBrokersAndTopic();
        record Case(String name, int count, List<List<Integer>> assignments, ControllerError error, String message) {}
        List<Case> cases = List.of(
                new Case("nope", 6, List.of(), ControllerError.UNKNOWN_TOPIC_OR_PARTITION, null),
                new Case("t", 2, List.of(), ControllerError.INVALID_PARTITIONS,
                        "The topic t currently has 3 partition(s); 2 would not be an increase."),
                new Case("t", 3, List.of(), ControllerError.INVALID_PARTITIONS, "Topic already has 3 partition(s)."),
                new Case("t", PartitionCountDecisions.MAX_PARTITIONS + 1, List.of(),
                        ControllerError.INVALID_PARTITIONS, null),
                new Case("t", 5, List.of(List.of(1, 2)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified."),
                new Case("t", 4, List.of(List.of(1)), ControllerError.INVALID_REPLICA_ASSIGNMENT, null),
                new Case("t", 4, List.of(List.of(1, 1)), ControllerError.INVALID_REPLICA_ASSIGNMENT, null),
                new Case("t", 4, List.of(List.of(1, 9)), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes broker 9, but no such broker is registered."));
        for (Case c : cases) {
            ControllerResult<List<PartitionImage>> result = grow(image, c.name(), c.count(), c.assignments());
            assertThat(result.error()).as("%s", c).isEqualTo(c.error());
            assertThat(result.records()).as("%s", c).isEmpty();
            if (c.message() != null) {
                assertThat(result.message()).as("%s", c).isEqualTo(c.message());
            }
        }
    }

    @Test
    void refusesAutomaticPlacementWithFewerLiveBrokersThanTheReplicationFactor() {
        MetadataImage image = Images.fencedOnly(threeBrokersAndTopic(), 2, 3);

        assertThat(grow(image, "t", 4, List.of()).error()).isEqualTo(ControllerError.INVALID_REPLICATION_FACTOR);
        // A manual assignment with one live replica is accepted; the fenced one stays out of the ISR.
        MetadataImage grown = Images.replay(image, grow(image, "t", 4, List.of(List.of(3, 1))));
        PartitionImage added = grown.topic(TOPIC_ID).partition(3);
        assertThat(added.replicas()).containsExactly(3, 1);
        assertThat(added.isr()).containsExactly(1);
        assertThat(added.leader()).isEqualTo(1);
        assertThat(grow(image, "t", 4, List.of(List.of(2, 3))).error())
                .isEqualTo(ControllerError.INVALID_REPLICA_ASSIGNMENT);
    }

    @Test
    void aStaleOrRepeatedRecordIsSkipped() {
        MetadataImage image = threeBrokersAndTopic();
        ControllerResult<List<PartitionImage>> result = grow(image, "t", 4, List.of());
        MetadataImage once = Images.replay(image, result);
        MetadataImage twice = Images.replay(once, result);
        assertThat(twice.topic(TOPIC_ID)).isEqualTo(once.topic(TOPIC_ID));
        // Numbered with a gap: skipped, never half-applied.
        MetadataRecord gap = MetadataRecord.newBuilder().setCreatePartitions(CreatePartitionsRecord.newBuilder()
                .setTopicId(Uuids.toProto(TOPIC_ID))
                .addPartitions(PartitionRecord.newBuilder().setPartition(4).addReplicas(1).addIsr(1).setLeader(1))
                .addPartitions(PartitionRecord.newBuilder().setPartition(6).addReplicas(1).addIsr(1).setLeader(1)))
                .build();
        assertThat(Images.replay(once, List.of(gap)).topic(TOPIC_ID)).isEqualTo(once.topic(TOPIC_ID));
    }

    @Test
    void theControllerCommitsOnceForRetriesOfOneRequestAndHonoursValidateOnly(@TempDir Path dir) throws Exception {
        try (LocalMetadataStore store = LocalMetadataStore.open(dir)) {
            AtomicLong ids = new AtomicLong();
            try (Controller controller = new Controller(1, store, () -> new UUID(1, ids.incrementAndGet()))) {
                controller.registerAndUnfence(1, "inc", Images.endpoints(1), null).join();
                assertThat(call(controller, ControllerRequest.newBuilder().setCreateTopic(CreateTopicRequest
                        .newBuilder().setName("t").setPartitions(3).setReplicationFactor(1)).build()).getError())
                        .isEqualTo(ControllerErrorCode.NONE);

                ControllerResponse validated = call(controller, growTo(6, "", true));
                assertThat(validated.getError()).isEqualTo(ControllerErrorCode.NONE);
                assertThat(store.image().topic("t").partitions()).hasSize(3);

                ControllerResponse first = call(controller, growTo(6, "req-1", false));
                ControllerResponse retry = call(controller, growTo(6, "req-1", false));
                assertThat(first.getError()).isEqualTo(ControllerErrorCode.NONE);
                assertThat(retry).isEqualTo(first);
                assertThat(store.image().topic("t").partitions()).hasSize(6);
                assertThat(store.image().offset()).isEqualTo(first.getMetadataOffset());
                // A new request for the same count is refused as in Kafka.
                ControllerResponse again = call(controller, growTo(6, "req-2", false));
                assertThat(again.getError()).isEqualTo(ControllerErrorCode.INVALID_PARTITIONS);
                ControllerResponse badAssignment = call(controller, ControllerRequest.newBuilder()
                        .setCreatePartitions(CreatePartitionsRequest.newBuilder().setName("t").setCount(7)
                                .addAssignments(ReplicaAssignment.newBuilder().addBrokerIds(5))).build());
                assertThat(badAssignment.getError()).isEqualTo(ControllerErrorCode.INVALID_REPLICA_ASSIGNMENT);
            }
        }
    }

    private static ControllerRequest growTo(int count, String requestId, boolean validateOnly) {
        return ControllerRequest.newBuilder().setRequestId(requestId).setCreatePartitions(CreatePartitionsRequest
                .newBuilder().setName("t").setCount(count).setValidateOnly(validateOnly)).build();
    }

    private static ControllerResponse call(Controller controller, ControllerRequest request) {
        return controller.handle(request).orTimeout(10, TimeUnit.SECONDS).join();
    }
}
