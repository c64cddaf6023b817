package io.tributary.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.MetadataRecord;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Partition reassignments on the controller (KIP-455, Kafka's {@code ReplicationControlManager}): the start
 * (replicas = target + removing, adding, removing), completion when the ISR change that brings the last target
 * replica in commits, the leader handed over with a bumped epoch when it is removed, cancellation reverting to the
 * original replicas, Kafka's errors, the listing, and the image's snapshot keeping a reassignment in progress.
 */
class ReassignmentDecisionsTest {

    private static final UUID TOPIC_ID = new UUID(9, 9);

    /** Four live brokers; topic "t" with partition 0 on [1, 2, 3], ISR [1, 2, 3], leader 1. */
    private static MetadataImage fourBrokersAndTopic() {
        MetadataImage image = Images.live(1, 2, 3, 4);
        return Images.withTopic(image, "t", TOPIC_ID, Images.partition(0, List.of(1, 2, 3), List.of(1, 2, 3), 1, 0, 0));
    }

    private static ControllerResult<List<ReassignmentDecisions.Result>> reassign(MetadataImage image, int partition,
            Integer... target) {
        return ReassignmentDecisions.alter(image, List.of(new ReassignmentDecisions.Target("t", partition,
                target == null ? null : Arrays.asList(target))));
    }

    private static ControllerResult<List<ReassignmentDecisions.Result>> cancel(MetadataImage image) {
        return ReassignmentDecisions.alter(image, List.of(new ReassignmentDecisions.Target("t", 0, null)));
    }

    private static PartitionImage p0(MetadataImage image) {
        return image.topic(TOPIC_ID).partition(0);
    }

    /** The leader's AlterPartition to {@code isr}, against the partition as {@code image} has it. */
    private static MetadataImage alterIsr(MetadataImage image, Integer... isr) {
        PartitionImage p = p0(image);
        ControllerResult<PartitionImage> result = ControllerDecisions.alterPartition(image, TOPIC_ID, 0, p.leader(),
                p.leaderEpoch(), p.partitionEpoch(), List.of(isr));
        return Images.replay(image, result);
    }

    @Test
    void movesAReplicaFromThreeToFourOnceTheNewReplicaJoinsTheIsr() {
        // Given partition 0 on [1, 2, 3]
        MetadataImage image = fourBrokersAndTopic();

        // When it is reassigned to [1, 2, 4]
        MetadataImage started = Images.replay(image, reassign(image, 0, 1, 2, 4));

        // Then 4 is added, 3 is being removed, and the replicas are the target followed by the removing replica
        PartitionImage p = p0(started);
        assertThat(p.replicas()).containsExactly(1, 2, 4, 3);
        assertThat(p.addingReplicas()).containsExactly(4);
        assertThat(p.removingReplicas()).containsExactly(3);
        assertThat(p.isr()).containsExactly(1, 2, 3);
        assertThat(p.leader()).isEqualTo(1);
        assertThat(p.leaderEpoch()).isZero();
        assertThat(p.partitionEpoch()).isEqualTo(1);
        assertThat(ReassignmentDecisions.list(started, List.of(), true)).extracting(o -> o.partition().partition())
                .containsExactly(0);
        // and a snapshot keeps the reassignment in progress
        assertThat(MetadataImage.fromSnapshot(started.toSnapshot())).isEqualTo(started);

        // When the leader adds 4 to the ISR
        MetadataImage done = alterIsr(started, 1, 2, 3, 4);

        // Then the same record completes the move: replicas [1, 2, 4], 3 gone from the ISR, the leader kept
        PartitionImage completed = p0(done);
        assertThat(completed.replicas()).containsExactly(1, 2, 4);
        assertThat(completed.isr()).containsExactly(1, 2, 4);
        assertThat(completed.isReassigning()).isFalse();
        assertThat(completed.leader()).isEqualTo(1);
        assertThat(completed.leaderEpoch()).isZero();
        assertThat(completed.partitionEpoch()).isEqualTo(2);
        assertThat(ReassignmentDecisions.list(done, List.of(), true)).isEmpty();
    }

    @Test
    void anIsrChangeThatLeavesATargetReplicaOutDoesNotComplete() {
        // Given a move of 3 to 4 in progress
        MetadataImage image = fourBrokersAndTopic();
        MetadataImage started = Images.replay(image, reassign(image, 0, 1, 2, 4));

        // When 4 joins but 2 (a staying target replica) has left the ISR
        MetadataImage shrunk = alterIsr(started, 1, 3);
        MetadataImage expanded = alterIsr(shrunk, 1, 3, 4);

        // Then the reassignment waits: completing would shrink the ISR below the target
        assertThat(p0(expanded).isReassigning()).isTrue();
        assertThat(p0(expanded).isr()).containsExactly(1, 3, 4);

        // When 2 is back, it completes
        MetadataImage done = alterIsr(expanded, 1, 3, 4, 2);
        assertThat(p0(done).replicas()).containsExactly(1, 2, 4);
        assertThat(p0(done).isr()).containsExactly(1, 4, 2);
    }

    @Test
    void aRemovedLeaderHandsOverToTheFirstLiveTargetReplicaWithABumpedLeaderEpoch() {
        // Given partition 0 led by 1, reassigned to [4, 2, 3]
        MetadataImage image = fourBrokersAndTopic();
        MetadataImage started = Images.replay(image, reassign(image, 0, 4, 2, 3));
        assertThat(p0(started).leader()).isEqualTo(1);

        // When 4 joins the ISR
        MetadataImage done = alterIsr(started, 1, 2, 3, 4);

        // Then 4, the first target replica, leads in the next leader epoch and 1 is gone
        PartitionImage p = p0(done);
        assertThat(p.replicas()).containsExactly(4, 2, 3);
        assertThat(p.isr()).containsExactly(2, 3, 4);
        assertThat(p.leader()).isEqualTo(4);
        assertThat(p.leaderEpoch()).isEqualTo(1);
    }

    @Test
    void aTargetAlreadyInTheIsrCompletesAtOnce() {
        // Given partition 0 on [1, 2, 3], ISR all three
        MetadataImage image = fourBrokersAndTopic();

        // When it is reassigned to [2, 3] (a removal only)
        MetadataImage done = Images.replay(image, reassign(image, 0, 2, 3));

        // Then one record completes it: leader 1 removed, 2 leads in epoch 1
        PartitionImage p = p0(done);
        assertThat(p.replicas()).containsExactly(2, 3);
        assertThat(p.isr()).containsExactly(2, 3);
        assertThat(p.leader()).isEqualTo(2);
        assertThat(p.leaderEpoch()).isEqualTo(1);
        assertThat(p.isReassigning()).isFalse();
    }

    @Test
    void aRemovedLeaderWithNoLiveTargetReplicaInTheIsrKeepsLeadingUntilOneIs() {
        // Given a move from [1, 2, 3] to [4] and 4 fenced after joining the ISR
        MetadataImage image = fourBrokersAndTopic();
        MetadataImage started = Images.replay(image, reassign(image, 0, 4));
        MetadataImage fenced = Images.fencedOnly(started, 4);

        // When the leader's AlterPartition adds 4 (already fenced: refused), nothing completes
        PartitionImage p = p0(fenced);
        ControllerResult<PartitionImage> refused = ControllerDecisions.alterPartition(fenced, TOPIC_ID, 0, 1,
                p.leaderEpoch(), p.partitionEpoch(), List.of(1, 2, 3, 4));

        // Then it is refused (a fenced broker cannot join) and the partition stays as it was
        assertThat(refused.error()).isEqualTo(ControllerError.INELIGIBLE_REPLICA);
        assertThat(p.isReassigning()).isTrue();
        assertThat(p.leader()).isEqualTo(1);
    }

    @Test
    void cancellingRevertsToTheOriginalReplicas() {
        // Given a move of 3 to 4, with 4 already in the ISR and a second target replica missing
        MetadataImage image = fourBrokersAndTopic();
        MetadataImage started = Images.replay(image, reassign(image, 0, 4, 2, 3));
        MetadataImage shrunk = alterIsr(started, 1, 3);
        MetadataImage partial = alterIsr(shrunk, 1, 3, 4);
        assertThat(p0(partial).isReassigning()).isTrue();

        // When the reassignment is cancelled
        MetadataImage reverted = Images.replay(partial, cancel(partial));

        // Then the replicas are the original ones (in the reassignment's order, as Kafka's revert leaves them), 4
        // leaves the ISR, the leader stays
        PartitionImage p = p0(reverted);
        assertThat(p.replicas()).containsExactly(2, 3, 1);
        assertThat(p.isr()).containsExactly(1, 3);
        assertThat(p.isReassigning()).isFalse();
        assertThat(p.leader()).isEqualTo(1);
        assertThat(p.leaderEpoch()).isEqualTo(p0(partial).leaderEpoch());
    }

    @Test
    void cancellingElectsAnOriginalReplicaWhenAnAddedOneLeads() {
        // Given [1, 2] reassigned to [3, 4, 1, 2]... as Kafka would: a target with added replicas first; 3 leads
        MetadataImage image = Images.live(1, 2, 3, 4);
        image = Images.withTopic(image, "t", TOPIC_ID, Images.partition(0, List.of(1, 2), List.of(1, 2), 1, 0, 0));
        MetadataImage started = Images.replay(image, reassign(image, 0, 3, 4, 1, 2));
        MetadataImage withThree = alterIsr(started, 1, 2, 3);
        PartitionImage led = p0(withThree).with(p0(withThree).isr(), 3, 1, p0(withThree).partitionEpoch() + 1);
        MetadataImage ledByThree = Images.replay(withThree, List.of(ControllerDecisions.partitionChange(
                withThree.topic(TOPIC_ID), led)));
        assertThat(p0(ledByThree).leader()).isEqualTo(3);
        assertThat(p0(ledByThree).isReassigning()).isTrue();

        // When it is cancelled
        MetadataImage reverted = Images.replay(ledByThree, cancel(ledByThree));

        // Then 1 leads again in a new epoch, on the original replicas
        PartitionImage p = p0(reverted);
        assertThat(p.replicas()).containsExactly(1, 2);
        assertThat(p.isr()).containsExactly(1, 2);
        assertThat(p.leader()).isEqualTo(1);
        assertThat(p.leaderEpoch()).isEqualTo(2);
    }

    @Test
    void refusesWhatKafkaRefuses() {
        MetadataImage image = fourBrokersAndTopic();
        record Case(String topic, int partition, List<Integer> target, ControllerError error, String message) {}
        List<Case> cases = List.of(
                new Case("nope", 0, List.of(1), ControllerError.UNKNOWN_TOPIC_OR_PARTITION,
                        "Unable to find partition nope-0."),
                new Case("t", 1, List.of(1), ControllerError.UNKNOWN_TOPIC_OR_PARTITION,
                        "Unable to find partition t-1."),
                new Case("t", 0, List.of(), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes an empty replica list."),
                new Case("t", 0, List.of(1, 1), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes the broker 1 more than once."),
                new Case("t", 0, List.of(1, 9), ControllerError.INVALID_REPLICA_ASSIGNMENT,
                        "The manual partition assignment includes broker 9, but no such broker is registered."),
                new Case("t", 0, null, ControllerError.NO_REASSIGNMENT_IN_PROGRESS,
                        "No reassignment is in progress for topic t partition 0"));
        for (Case c : cases) {
            ControllerResult<List<ReassignmentDecisions.Result>> result = ReassignmentDecisions.alter(image,
                    List.of(new ReassignmentDecisions.Target(c.topic(), c.partition(), c.target())));
            assertThat(result.records()).as(c.toString()).isEmpty();
            assertThat(result.response()).as(c.toString()).singleElement().satisfies(r -> {
                assertThat(r.error()).isEqualTo(c.error());
                assertThat(r.message()).isEqualTo(c.message());
            });
        }
    }

    @Test
    void withoutReplicationFactorChangesATargetOfAnotherSizeIsRefused() {
        // Given partition 0 with 3 replicas
        MetadataImage image = fourBrokersAndTopic();

        // When a KIP-860 request that disallows replication factor changes asks for 4 replicas, then for 3
        ControllerResult<List<ReassignmentDecisions.Result>> grow = ReassignmentDecisions.alter(image,
                List.of(new ReassignmentDecisions.Target("t", 0, List.of(1, 2, 3, 4))), false);
        ControllerResult<List<ReassignmentDecisions.Result>> move = ReassignmentDecisions.alter(image,
                List.of(new ReassignmentDecisions.Target("t", 0, List.of(1, 2, 4))), false);

        // Then the growth is refused and the move starts
        assertThat(grow.response().get(0).error()).isEqualTo(ControllerError.INVALID_REPLICATION_FACTOR);
        assertThat(grow.response().get(0).message()).isEqualTo("The replication factor is changed from 3 to 4");
        assertThat(grow.records()).isEmpty();
        assertThat(move.response().get(0).error()).isEqualTo(ControllerError.NONE);
        assertThat(move.records()).hasSize(1);
    }

    @Test
    void cancellingWhenNoOriginalReplicaIsInTheIsrIsRefused() {
        // Given a move from [1, 2, 3] to [4] where only 4 is left in the ISR... reached through the fencing of 1-3
        MetadataImage image = fourBrokersAndTopic();
        MetadataImage started = Images.replay(image, reassign(image, 0, 4, 1));
        MetadataImage onlyFour = Images.replay(started, List.of(ControllerDecisions.partitionChange(
                started.topic(TOPIC_ID), p0(started).with(List.of(4), 4, 1, p0(started).partitionEpoch() + 1))));

        // When it is cancelled
        ControllerResult<List<ReassignmentDecisions.Result>> result = cancel(onlyFour);

        // Then it is refused: the original replicas hold no ISR member, reverting needs an unclean election
        assertThat(result.records()).isEmpty();
        assertThat(result.response().get(0).error()).isEqualTo(ControllerError.INVALID_REPLICA_ASSIGNMENT);
        assertThat(result.response().get(0).message()).contains("unclean leader election");
    }

    @Test
    void eachPartitionIsDecidedOnItsOwn() {
        // Given a topic of two partitions
        MetadataImage image = Images.live(1, 2, 3, 4);
        image = Images.withTopic(image, "t", TOPIC_ID,
                Images.partition(0, List.of(1, 2), List.of(1, 2), 1, 0, 0),
                Images.partition(1, List.of(2, 3), List.of(2, 3), 2, 0, 0));

        // When one request moves partition 0 and names an unknown broker for partition 1
        ControllerResult<List<ReassignmentDecisions.Result>> result = ReassignmentDecisions.alter(image, List.of(
                new ReassignmentDecisions.Target("t", 0, List.of(1, 4)),
                new ReassignmentDecisions.Target("t", 1, List.of(2, 7))));

        // Then partition 0 starts and partition 1 alone is refused
        assertThat(result.response()).extracting(ReassignmentDecisions.Result::error)
                .containsExactly(ControllerError.NONE, ControllerError.INVALID_REPLICA_ASSIGNMENT);
        MetadataImage next = Images.replay(image, result.records());
        assertThat(next.topic(TOPIC_ID).partition(0).addingReplicas()).containsExactly(4);
        assertThat(next.topic(TOPIC_ID).partition(1).isReassigning()).isFalse();
        assertThat(ReassignmentDecisions.list(next, List.of(new ReassignmentDecisions.Target("t", 1, null),
                new ReassignmentDecisions.Target("t", 0, null), new ReassignmentDecisions.Target("x", 0, null)),
                false)).extracting(o -> o.partition().partition()).containsExactly(0);
    }

    @Test
    void aPartitionChangeWrittenBeforeReassignmentsKeepsTheReplicas() {
        // Given a reassignment in progress
        MetadataImage image = fourBrokersAndTopic();
        MetadataImage started = Images.replay(image, reassign(image, 0, 1, 2, 4));

        // When a PartitionChangeRecord without replicas_changed applies (a leader/ISR change only)
        PartitionImage p = p0(started);
        MetadataRecord isrOnly = ControllerDecisions.partitionChange(started.topic(TOPIC_ID),
                p.with(List.of(1, 2), 1, 0, p.partitionEpoch() + 1));
        MetadataImage next = Images.replay(started, List.of(isrOnly));

        // Then the replicas and the reassignment stay as they were
        assertThat(p0(next).replicas()).containsExactly(1, 2, 4, 3);
        assertThat(p0(next).addingReplicas()).containsExactly(4);
        assertThat(p0(next).isr()).containsExactly(1, 2);
    }

    @Test
    void aDrainedBrokerIsUnregisteredAndOneHostingReplicasIsRefused() {
        // Given partition 0 on [1, 2, 3] and broker 4 hosting nothing
        MetadataImage image = fourBrokersAndTopic();

        // When broker 3 (a replica) and broker 9 (unknown) are unregistered
        ControllerResult<Void> hosting = ControllerDecisions.unregisterBroker(image, 3);
        ControllerResult<Void> unknown = ControllerDecisions.unregisterBroker(image, 9);

        // Then both are refused, as Kafka would refuse the unknown one; nothing is written
        assertThat(hosting.error()).isEqualTo(ControllerError.INVALID_REQUEST);
        assertThat(hosting.message()).contains("still hosts 1 partition replica(s), for example t-0");
        assertThat(unknown.error()).isEqualTo(ControllerError.BROKER_ID_NOT_REGISTERED);
        assertThat(unknown.message()).isEqualTo("Broker ID 9 is not currently registered");

        // When 3 is drained (moved to 4) and then unregistered
        MetadataImage started = Images.replay(image, reassign(image, 0, 1, 2, 4));
        assertThat(ControllerDecisions.unregisterBroker(started, 3).error())
                .as("still a removing replica while the move is in progress")
                .isEqualTo(ControllerError.INVALID_REQUEST);
        MetadataImage drained = alterIsr(started, 1, 2, 3, 4);
        MetadataImage gone = Images.replay(drained, ControllerDecisions.unregisterBroker(drained, 3));

        // Then its registration is gone, from the image and from its snapshot, and the others stay
        assertThat(gone.brokers()).containsOnlyKeys(1, 2, 4);
        assertThat(MetadataImage.fromSnapshot(gone.toSnapshot())).isEqualTo(gone);
    }

    @Test
    void anUnregistrationOfAnOlderRegistrationIsSkipped() {
        // Given broker 4 unregistered by a record naming an epoch it no longer has (it registered again since)
        MetadataImage image = fourBrokersAndTopic();
        MetadataRecord stale = ControllerDecisions.unregisterBroker(image, 4).records().get(0);
        MetadataImage reregistered = Images.registered(image, 4);

        // When the stale record applies
        MetadataImage next = Images.replay(reregistered, List.of(stale));

        // Then the new registration stays
        assertThat(next.brokers()).containsKey(4);
        assertThat(next.brokers().get(4).brokerEpoch()).isEqualTo(reregistered.brokers().get(4).brokerEpoch());
    }
}
