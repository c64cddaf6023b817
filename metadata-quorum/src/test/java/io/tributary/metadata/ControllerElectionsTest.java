package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tributary.proto.metadata.ControllerErrorCode;
import io.tributary.proto.metadata.ControllerRequest;
import io.tributary.proto.metadata.ControllerResponse;
import io.tributary.proto.metadata.CreateTopicRequest;
import io.tributary.proto.metadata.ElectLeadersRequest;
import io.tributary.proto.metadata.ElectionResult;
import io.tributary.proto.metadata.ElectionTopic;
import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.MetadataUpdate;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's shell around {@link LeaderElectionDecisions}: an ElectLeaders request is decided, committed and
 * answered per partition; the automatic preferred-leader rebalance runs on the controller's clock (a fake one here),
 * only once {@code leader.imbalance.check.interval.seconds} has passed, and not at all when disabled.
 */
class ControllerElectionsTest {

    private static final long SESSION_MS = 60_000;

    @TempDir
    Path dir;

    /** Three live brokers and topic t of 3 partitions of 3 replicas (preferred leaders 1, 2, 3). */
    private static void threeBrokersAndTopic(Controller controller) {
        for (int id = 1; id <= 3; id++) {
            controller.registerAndUnfence(id, "inc-" + id, Images.endpoints(id), null).orTimeout(10, TimeUnit.SECONDS)
                    .join();
        }
        assertThat(call(controller, ControllerRequest.newBuilder().setCreateTopic(CreateTopicRequest.newBuilder()
                .setName("t").setPartitions(3).setReplicationFactor(3)).build()).getError())
                .isEqualTo(ControllerErrorCode.NONE);
    }

    /** Moves the leadership of t-0 from its preferred replica to the next ISR member, as a past fail-over did. */
    private static void moveLeaderOfPartitionZero(LocalMetadataStore store) {
        TopicImage topic = store.image().topic("t");
        PartitionImage p = topic.partition(0);
        PartitionImage moved = ControllerDecisions.withLeader(p, p.replicas().get(1), p.isr());
        MetadataRecord record = ControllerDecisions.partitionChange(topic, moved);
        store.commit(List.of(record)).orTimeout(10, TimeUnit.SECONDS).join();
        assertThat(store.image().topic("t").partition(0).leader()).isNotEqualTo(p.replicas().get(0));
    }

    private Controller controller(LocalMetadataStore store, AtomicLong nowMs, LeaderElectionConfig config) {
        AtomicLong ids = new AtomicLong();
        Controller controller = new Controller(1, store, () -> new UUID(1, ids.incrementAndGet()), nowMs::get,
                offset -> MetadataUpdate.getDefaultInstance(), SESSION_MS);
        controller.setElectionConfig(config);
        controller.activate(0);
        return controller;
    }

    @Test
    void electLeadersRequestRestoresThePreferredLeaderAndAnswersPerPartition() throws Exception {
        AtomicLong nowMs = new AtomicLong(1_000);
        try (LocalMetadataStore store = LocalMetadataStore.open(dir);
                Controller controller = controller(store, nowMs, new LeaderElectionConfig(false, 10, 1_000, false))) {
            // Given t-0 led by a replica other than its preferred one
            threeBrokersAndTopic(controller);
            moveLeaderOfPartitionZero(store);

            // When a PREFERRED election names t-0, t-1 and t-9
            ControllerResponse answer = call(controller, ControllerRequest.newBuilder().setElectLeaders(
                    ElectLeadersRequest.newBuilder().setElectionType(0).addTopics(ElectionTopic.newBuilder()
                            .setTopic("t").addPartitions(0).addPartitions(1).addPartitions(9))).build());

            // Then t-0 is led by replica 1 again, t-1 needed nothing, t-9 does not exist
            assertThat(answer.getError()).isEqualTo(ControllerErrorCode.NONE);
            assertThat(answer.getElectLeaders().getResultsList()).extracting(ElectionResult::getPartition,
                    ElectionResult::getError).containsExactly(
                            org.assertj.core.groups.Tuple.tuple(0, ControllerErrorCode.NONE),
                            org.assertj.core.groups.Tuple.tuple(1, ControllerErrorCode.ELECTION_NOT_NEEDED),
                            org.assertj.core.groups.Tuple.tuple(9, ControllerErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
            PartitionImage p = store.image().topic("t").partition(0);
            assertThat(p.leader()).isEqualTo(p.replicas().get(0));
            assertThat(store.image().offset()).isLessThanOrEqualTo(answer.getMetadataOffset());

            // And an unknown election type is refused
            assertThat(call(controller, ControllerRequest.newBuilder().setElectLeaders(ElectLeadersRequest
                    .newBuilder().setElectionType(5).setAllPartitions(true)).build()).getError())
                    .isEqualTo(ControllerErrorCode.INVALID_REQUEST);
        }
    }

    @Test
    void autoRebalanceRestoresThePreferredLeaderOnceTheCheckIntervalPassed() throws Exception {
        AtomicLong nowMs = new AtomicLong(1_000);
        try (LocalMetadataStore store = LocalMetadataStore.open(dir);
                Controller controller = controller(store, nowMs, new LeaderElectionConfig(true, 10, 5_000, false))) {
            // Given t-0 led by a replica other than its preferred one (broker 1 leads 0 of its 1 partition)
            threeBrokersAndTopic(controller);
            moveLeaderOfPartitionZero(store);
            long offset = store.image().offset();

            // When less than the check interval passes, the leadership stays (checked after a few controller ticks)
            nowMs.addAndGet(1_000);
            await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(5))
                    .until(() -> store.image().offset() == offset);

            // Then once the interval has passed, the controller moves it back to the preferred replica
            nowMs.addAndGet(5_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> store.image().topic("t").partition(0).leader() == 1);
        }
    }

    @Test
    void autoRebalanceDisabledLeavesTheLeadershipAlone() throws Exception {
        AtomicLong nowMs = new AtomicLong(1_000);
        try (LocalMetadataStore store = LocalMetadataStore.open(dir);
                Controller controller = controller(store, nowMs, new LeaderElectionConfig(false, 10, 1_000, false))) {
            // Given t-0 led by a replica other than its preferred one, and auto.leader.rebalance.enable=false
            threeBrokersAndTopic(controller);
            moveLeaderOfPartitionZero(store);
            long offset = store.image().offset();

            // When many check intervals pass
            nowMs.addAndGet(10_000);

            // Then nothing is elected
            await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(5))
                    .until(() -> store.image().offset() == offset);
        }
    }

    @Test
    void configValidationRefusesAPercentageOutOfRange() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new LeaderElectionConfig(true, 101, 1_000, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leader.imbalance.per.broker.percentage");
    }

    private static ControllerResponse call(Controller controller, ControllerRequest request) {
        return controller.handle(request).orTimeout(10, TimeUnit.SECONDS).join();
    }
}
