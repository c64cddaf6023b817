package io.tributary.metadata;

import static io.tributary.metadata.Images.partition;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.metadata.LeaderElectionDecisions.ElectionType;
import io.tributary.metadata.LeaderElectionDecisions.PartitionResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The controller's elections that no broker failure forces: ElectLeaders PREFERRED and UNCLEAN (Kafka's results per
 * partition), the automatic preferred-leader rebalance with Kafka's per-broker imbalance ratio, and unclean
 * elections on fencing, unfencing and by topic config ({@code unclean.leader.election.enable}).
 */
class LeaderElectionDecisionsTest {

    private static final UUID TOPIC_ID = new UUID(3, 3);
    private static final UUID OTHER_ID = new UUID(4, 4);

    private static Map<String, List<Integer>> named(String topic, Integer... partitions) {
        Map<String, List<Integer>> named = new LinkedHashMap<>();
        named.put(topic, List.of(partitions));
        return named;
    }

    private static PartitionImage partitionOf(MetadataImage image, String topic, int partition) {
        return image.topic(topic).partition(partition);
    }

    @Test
    void preferredElectionMovesLeadershipBackToTheFirstReplicaAndBumpsTheEpochs() {
        // Given partition 0 led by 2 although 1 is its preferred replica, in the ISR and live
        MetadataImage image = Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2, 3), List.of(2, 3, 1), 2, 4, 7));

        // When a preferred election names it
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.PREFERRED, named("t", 0));
        MetadataImage next = Images.replay(image, result);

        // Then 1 leads in the next leader epoch, the ISR unchanged, and the answer is NONE
        assertThat(partitionOf(next, "t", 0)).isEqualTo(partition(0, List.of(1, 2, 3), List.of(2, 3, 1), 1, 5, 8));
        assertThat(result.records()).hasSize(1);
        assertThat(result.response()).containsExactly(new PartitionResult("t", 0, ControllerError.NONE, null));
    }

    @Test
    void preferredElectionIsNotNeededWhereThePreferredReplicaLeads() {
        // Given partition 0 led by its first replica
        MetadataImage image = Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2, 3), List.of(1, 2, 3), 1, 0, 0));

        // When a preferred election names it
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.PREFERRED, named("t", 0));

        // Then nothing is written and the answer is ELECTION_NOT_NEEDED
        assertThat(result.records()).isEmpty();
        assertThat(result.response()).singleElement().extracting(PartitionResult::error)
                .isEqualTo(ControllerError.ELECTION_NOT_NEEDED);
    }

    @Test
    void preferredLeaderIsNotAvailableWhenFencedOrOutOfTheIsr() {
        // Given partition 0 whose preferred replica 1 is out of the ISR, and partition 1 whose preferred replica 3 is
        // in the ISR but fenced
        MetadataImage image = Images.fencedOnly(Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2, 3), List.of(2, 3), 2, 1, 1),
                partition(1, List.of(3, 1, 2), List.of(3, 1, 2), 1, 1, 1)), 3);

        // When a preferred election names both
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.PREFERRED, named("t", 0, 1));

        // Then neither changes and both answer PREFERRED_LEADER_NOT_AVAILABLE with the reason
        assertThat(result.records()).isEmpty();
        assertThat(result.response()).extracting(PartitionResult::error).containsExactly(
                ControllerError.PREFERRED_LEADER_NOT_AVAILABLE, ControllerError.PREFERRED_LEADER_NOT_AVAILABLE);
        assertThat(result.response().get(0).message()).contains("preferred leader 1", "t-0");
    }

    @Test
    void unknownTopicsAndPartitionsAnswerUnknownTopicOrPartition() {
        // Given topic t with one partition
        MetadataImage image = Images.withTopic(Images.live(1, 2), "t", TOPIC_ID,
                partition(0, List.of(1, 2), List.of(1, 2), 2, 0, 0));
        Map<String, List<Integer>> named = new LinkedHashMap<>();
        named.put("t", List.of(0, 5, 0));
        named.put("missing", List.of(0));

        // When an election names a partition twice, one that does not exist and a topic that does not exist
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.PREFERRED, named);

        // Then the duplicate is decided once, the unknown ones answer UNKNOWN_TOPIC_OR_PARTITION, in request order
        assertThat(result.records()).hasSize(1);
        assertThat(result.response()).extracting(PartitionResult::topic, PartitionResult::partition,
                PartitionResult::error).containsExactly(
                        org.assertj.core.groups.Tuple.tuple("t", 0, ControllerError.NONE),
                        org.assertj.core.groups.Tuple.tuple("t", 5, ControllerError.UNKNOWN_TOPIC_OR_PARTITION),
                        org.assertj.core.groups.Tuple.tuple("missing", 0, ControllerError.UNKNOWN_TOPIC_OR_PARTITION));
    }

    @Test
    void everyPartitionElectsWhereNeededAndLeavesOutThoseNotNeeded() {
        // Given two topics: t-0 led by its preferred replica, t-1 not, o-0 whose preferred replica is out of the ISR
        MetadataImage image = Images.withTopic(Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2), List.of(1, 2), 1, 0, 0),
                partition(1, List.of(2, 3), List.of(2, 3), 3, 2, 2)), "o", OTHER_ID,
                partition(0, List.of(3, 1), List.of(1), 1, 1, 1));

        // When a preferred election names no partitions (Kafka's null: every partition)
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.PREFERRED, null);
        MetadataImage next = Images.replay(image, result);

        // Then t-1 moves to 2, o-0 is reported unavailable and t-0 is left out of the answer
        assertThat(partitionOf(next, "t", 1).leader()).isEqualTo(2);
        assertThat(result.response()).extracting(PartitionResult::topic, PartitionResult::partition,
                PartitionResult::error).containsExactly(
                        org.assertj.core.groups.Tuple.tuple("o", 0, ControllerError.PREFERRED_LEADER_NOT_AVAILABLE),
                        org.assertj.core.groups.Tuple.tuple("t", 1, ControllerError.NONE));
    }

    @Test
    void uncleanElectionPicksALiveReplicaOutsideTheIsrAndResetsTheIsrToIt() {
        // Given partition 0 offline: its last ISR member 1 is fenced, replicas 2 and 3 are live but out of the ISR
        MetadataImage image = Images.fencedOnly(Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2, 3), List.of(1), PartitionImage.NO_LEADER, 3, 5)), 1);

        // When an unclean election names it
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.UNCLEAN, named("t", 0));
        MetadataImage next = Images.replay(image, result);

        // Then the first live replica leads with the ISR reset to it, in the next leader epoch
        assertThat(partitionOf(next, "t", 0)).isEqualTo(partition(0, List.of(1, 2, 3), List.of(2), 2, 4, 6));
        assertThat(result.response()).singleElement().extracting(PartitionResult::error)
                .isEqualTo(ControllerError.NONE);
    }

    @Test
    void uncleanElectionPrefersALiveIsrMemberAndIsNotNeededWithALiveLeader() {
        // Given t-0 offline with a live ISR member 3 (a state a missed election leaves), t-1 led by live broker 2
        MetadataImage image = Images.fencedOnly(Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2, 3), List.of(1, 3), PartitionImage.NO_LEADER, 3, 5),
                partition(1, List.of(1, 2, 3), List.of(2), 2, 3, 5)), 1);

        // When an unclean election names both
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.UNCLEAN, named("t", 0, 1));
        MetadataImage next = Images.replay(image, result);

        // Then t-0 gets the ISR member (a clean election, ISR kept); t-1 needs none
        assertThat(partitionOf(next, "t", 0)).isEqualTo(partition(0, List.of(1, 2, 3), List.of(1, 3), 3, 4, 6));
        assertThat(partitionOf(next, "t", 1)).isEqualTo(partitionOf(image, "t", 1));
        assertThat(result.response()).extracting(PartitionResult::error)
                .containsExactly(ControllerError.NONE, ControllerError.ELECTION_NOT_NEEDED);
    }

    @Test
    void uncleanElectionWithoutALiveReplicaAnswersEligibleLeadersNotAvailable() {
        // Given partition 0 offline with every replica fenced
        MetadataImage image = Images.fencedOnly(Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2), List.of(1), PartitionImage.NO_LEADER, 3, 5)), 1, 2);

        // When an unclean election names it
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.electLeaders(image,
                ElectionType.UNCLEAN, named("t", 0));

        // Then nothing changes
        assertThat(result.records()).isEmpty();
        assertThat(result.response()).singleElement().extracting(PartitionResult::error)
                .isEqualTo(ControllerError.ELIGIBLE_LEADERS_NOT_AVAILABLE);
    }

    @Test
    void anUnknownElectionTypeIsAnInvalidRequest() {
        assertThat(LeaderElectionDecisions.ElectionType.fromCode(7)).isNull();
        assertThat(LeaderElectionDecisions.electLeaders(Images.live(1), null, null).error())
                .isEqualTo(ControllerError.INVALID_REQUEST);
    }

    @Test
    void rebalanceMovesLeadershipOnlyForBrokersAboveTheImbalancePercentage() {
        // Given broker 1 preferred for 4 partitions and leading 2 of them (50% imbalance), broker 2 preferred for 4
        // and leading 3 (25%)
        MetadataImage image = Images.withTopic(Images.live(1, 2, 3), "t", TOPIC_ID,
                partition(0, List.of(1, 2), List.of(1, 2), 1, 0, 0),
                partition(1, List.of(1, 2), List.of(1, 2), 1, 0, 0),
                partition(2, List.of(1, 3), List.of(1, 3), 3, 1, 1),
                partition(3, List.of(1, 3), List.of(1, 3), 3, 1, 1),
                partition(4, List.of(2, 3), List.of(2, 3), 2, 0, 0),
                partition(5, List.of(2, 3), List.of(2, 3), 2, 0, 0),
                partition(6, List.of(2, 3), List.of(2, 3), 2, 0, 0),
                partition(7, List.of(2, 1), List.of(2, 1), 1, 1, 1));

        // When the rebalance runs with a 30% threshold
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.rebalanceLeaders(image, 30);
        MetadataImage next = Images.replay(image, result);

        // Then broker 1 gets partitions 2 and 3 back; broker 2, below the threshold, does not get 7
        assertThat(result.response()).extracting(PartitionResult::partition).containsExactly(2, 3);
        assertThat(partitionOf(next, "t", 2).leader()).isEqualTo(1);
        assertThat(partitionOf(next, "t", 3).leader()).isEqualTo(1);
        assertThat(partitionOf(next, "t", 7).leader()).isEqualTo(1);

        // And with a 20% threshold broker 2 gets partition 7 back too
        assertThat(LeaderElectionDecisions.rebalanceLeaders(image, 20).response())
                .extracting(PartitionResult::partition).containsExactly(2, 3, 7);
        // And a balanced cluster writes nothing
        assertThat(LeaderElectionDecisions.rebalanceLeaders(Images.replay(image,
                LeaderElectionDecisions.rebalanceLeaders(image, 0)), 0).records()).isEmpty();
    }

    @Test
    void rebalanceSkipsPartitionsWhosePreferredReplicaCannotLead() {
        // Given broker 1 preferred for 2 partitions, leading neither: out of the ISR of one, in the ISR of the other
        MetadataImage image = Images.withTopic(Images.live(1, 2), "t", TOPIC_ID,
                partition(0, List.of(1, 2), List.of(2), 2, 1, 1),
                partition(1, List.of(1, 2), List.of(2, 1), 2, 1, 2));

        // When the rebalance runs
        ControllerResult<List<PartitionResult>> result = LeaderElectionDecisions.rebalanceLeaders(image, 10);

        // Then only the partition whose ISR holds broker 1 moves
        assertThat(result.response()).extracting(PartitionResult::partition).containsExactly(1);
    }

    @Test
    void fencingTheLastLiveIsrMemberElectsAnOutOfIsrReplicaOnlyWhereUncleanIsEnabled() {
        // Given topic t (default: no unclean) and topic u (unclean.leader.election.enable=true), each with a
        // partition led by broker 1, alone in the ISR, while replicas 2 and 3 are live but lagging
        MetadataImage image = Images.live(1, 2, 3);
        image = Images.replay(image, ControllerDecisions.createTopic(image, "t", 1, 3, Map.of(), TOPIC_ID));
        image = Images.replay(image, ControllerDecisions.createTopic(image, "u", 1, 3,
                Map.of(LeaderElectionDecisions.UNCLEAN_LEADER_ELECTION_ENABLE, "true"), OTHER_ID));
        image = shrinkIsrToLeader(image, "t");
        image = shrinkIsrToLeader(image, "u");
        int leaderT = partitionOf(image, "t", 0).leader();
        int leaderU = partitionOf(image, "u", 0).leader();

        // When the leader of t is fenced, then the leader of u
        MetadataImage next = Images.replay(image, ControllerDecisions.fenceBroker(image, leaderT, false));
        next = Images.replay(next, ControllerDecisions.fenceBroker(next, leaderU, false));

        // Then t is offline, keeping its last ISR member; u is led by a live replica with the ISR reset to it
        assertThat(partitionOf(next, "t", 0).hasLeader()).isFalse();
        assertThat(partitionOf(next, "t", 0).isr()).containsExactly(leaderT);
        PartitionImage u = partitionOf(next, "u", 0);
        assertThat(u.leader()).isNotEqualTo(leaderU).isNotEqualTo(PartitionImage.NO_LEADER);
        assertThat(u.isr()).containsExactly(u.leader());
        assertThat(u.leaderEpoch()).isGreaterThan(partitionOf(image, "u", 0).leaderEpoch());
    }

    @Test
    void theNodeDefaultEnablesUncleanElectionsForTopicsWithoutTheirOwnSetting() {
        // Given topic t without an override and topic u with unclean.leader.election.enable=false, both offline:
        // their only ISR member 1 fenced, replica 2 live
        MetadataImage image = Images.fencedOnly(Images.withTopic(Images.withTopic(Images.live(1, 2), "t", TOPIC_ID,
                partition(0, List.of(1, 2), List.of(1), PartitionImage.NO_LEADER, 1, 1)), "u", OTHER_ID,
                partition(0, List.of(1, 2), List.of(1), PartitionImage.NO_LEADER, 1, 1)), 1);
        image = Images.replay(image, List.of(io.tributary.proto.metadata.MetadataRecord.newBuilder()
                .setConfigChange(io.tributary.proto.metadata.ConfigChangeRecord.newBuilder()
                        .setTopicId(Uuids.toProto(OTHER_ID))
                        .putSet(LeaderElectionDecisions.UNCLEAN_LEADER_ELECTION_ENABLE, "false")).build()));

        // When the controller sweeps offline partitions with the node default false, then true
        ControllerResult<List<PartitionResult>> off = LeaderElectionDecisions.electUncleanLeaders(image, false);
        ControllerResult<List<PartitionResult>> on = LeaderElectionDecisions.electUncleanLeaders(image, true);

        // Then only the default true elects, and only for t (u's own false wins)
        assertThat(off.records()).isEmpty();
        assertThat(on.response()).extracting(PartitionResult::topic).containsExactly("t");
        assertThat(partitionOf(Images.replay(image, on), "t", 0)).isEqualTo(
                partition(0, List.of(1, 2), List.of(2), 2, 2, 2));
        // and the activation election does the same
        assertThat(Images.replay(image, ControllerDecisions.electLeaders(image, true)).topic("t").partition(0)
                .leader()).isEqualTo(2);
        assertThat(ControllerDecisions.electLeaders(image, false).records()).isEmpty();
    }

    @Test
    void aReturningOutOfIsrReplicaLeadsAnOfflinePartitionOnlyWhereUncleanIsEnabled() {
        // Given t-0 offline with broker 1 its last ISR member (fenced) and broker 2, out of the ISR, fenced too
        MetadataImage image = Images.fencedOnly(Images.withTopic(Images.live(1, 2), "t", TOPIC_ID,
                partition(0, List.of(1, 2), List.of(1), PartitionImage.NO_LEADER, 1, 1)), 1, 2);

        // When broker 2 is unfenced with unclean elections off, then on
        MetadataImage clean = Images.replay(image, ControllerDecisions.unfenceBrokerAndElect(image, 2, false));
        MetadataImage unclean = Images.replay(image, ControllerDecisions.unfenceBrokerAndElect(image, 2, true));

        // Then only the unclean one elects it, with the ISR reset to it
        assertThat(partitionOf(clean, "t", 0).hasLeader()).isFalse();
        assertThat(partitionOf(unclean, "t", 0)).isEqualTo(partition(0, List.of(1, 2), List.of(2), 2, 2, 2));
    }

    /** The ISR of the topic's partition 0 shrunk to its leader, as AlterPartition from a leader would do. */
    private static MetadataImage shrinkIsrToLeader(MetadataImage image, String topic) {
        PartitionImage p = partitionOf(image, topic, 0);
        return Images.replay(image, ControllerDecisions.alterPartition(image, image.topic(topic).topicId(), 0,
                p.leader(), p.leaderEpoch(), p.partitionEpoch(), List.of(p.leader())));
    }
}
