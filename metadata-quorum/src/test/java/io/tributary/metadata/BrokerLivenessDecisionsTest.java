package io.tributary.metadata;

import static io.tributary.metadata.Images.live;
import static io.tributary.metadata.Images.partition;
import static io.tributary.metadata.Images.replay;
import static io.tributary.metadata.Images.withTopic;
import static io.tributary.metadata.PartitionImage.NO_LEADER;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.proto.metadata.MetadataRecord;
import io.tributary.proto.metadata.MetadataRecord.RecordCase;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Fencing, unfencing, re-registration and leader election, as records replayed into the image. */
class BrokerLivenessDecisionsTest {

    private static final UUID T = new UUID(0, 1);
    private static final UUID U = new UUID(0, 2);
    private static final int LEADER_EPOCH = 5;
    private static final int PARTITION_EPOCH = 7;

    /**
     * Broker 1 is fenced; brokers 2, 3 and 4 are registered and live unless listed in {@code alsoFenced}; broker 5
     * is not registered. The partition starts at leader epoch 5, partition epoch 7.
     */
    record FenceCase(String name, List<Integer> replicas, List<Integer> isr, int leader, List<Integer> alsoFenced,
            List<Integer> expectedIsr, int expectedLeader) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<FenceCase> fenceCases() {
        return Stream.of(
                new FenceCase("leader moves to the first live ISR replica in replica order",
                        List.of(1, 2, 3), List.of(3, 2, 1), 1, List.of(), List.of(3, 2), 2),
                new FenceCase("follower leaves the ISR, leader and leader epoch stay",
                        List.of(2, 1, 3), List.of(2, 1, 3), 2, List.of(), List.of(2, 3), 2),
                new FenceCase("last ISR member and leader: offline, ISR kept",
                        List.of(1, 2, 3), List.of(1), 1, List.of(), List.of(1), NO_LEADER),
                new FenceCase("fenced ISR member is passed over",
                        List.of(1, 2, 3), List.of(1, 2, 3), 1, List.of(2), List.of(2, 3), 3),
                new FenceCase("unregistered ISR member is passed over",
                        List.of(1, 5, 2), List.of(1, 5, 2), 1, List.of(), List.of(5, 2), 2),
                new FenceCase("live replica outside the ISR is passed over",
                        List.of(1, 4, 2), List.of(1, 2), 1, List.of(), List.of(2), 2),
                new FenceCase("no live ISR member left: offline, ISR shrinks",
                        List.of(1, 2), List.of(1, 2), 1, List.of(2), List.of(2), NO_LEADER),
                new FenceCase("offline partition: ISR shrinks only",
                        List.of(1, 2, 3), List.of(1, 2), NO_LEADER, List.of(2), List.of(2), NO_LEADER),
                new FenceCase("offline partition, last ISR member: unchanged",
                        List.of(1, 2), List.of(1), NO_LEADER, List.of(), List.of(1), NO_LEADER),
                new FenceCase("replica outside the ISR: unchanged",
                        List.of(1, 2, 3), List.of(2, 3), 2, List.of(), List.of(2, 3), 2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fenceCases")
    void fencingABrokerMovesItsLeadershipsAndShrinksIsrs(FenceCase c) {
        // Given
        MetadataImage image = live(1, 2, 3, 4);
        image = Images.fencedOnly(image, c.alsoFenced().stream().mapToInt(Integer::intValue).toArray());
        image = withTopic(image, "t", T, partition(0, c.replicas(), c.isr(), c.leader(), LEADER_EPOCH,
                PARTITION_EPOCH));
        PartitionImage before = image.topic("t").partition(0);

        // When
        ControllerResult<Void> result = ControllerDecisions.fenceBroker(image, 1);
        MetadataImage after = replay(image, result);

        // Then
        PartitionImage p = after.topic("t").partition(0);
        boolean changed = !c.expectedIsr().equals(c.isr()) || c.expectedLeader() != c.leader();
        assertThat(after.brokers().get(1).fenced()).isTrue();
        assertThat(result.records()).extracting(MetadataRecord::getRecordCase).containsExactlyElementsOf(changed
                ? List.of(RecordCase.FENCE_BROKER, RecordCase.PARTITION_CHANGE)
                : List.of(RecordCase.FENCE_BROKER));
        assertThat(p).isEqualTo(partition(0, c.replicas(), c.expectedIsr(), c.expectedLeader(),
                c.expectedLeader() == c.leader() ? LEADER_EPOCH : LEADER_EPOCH + 1,
                changed ? PARTITION_EPOCH + 1 : PARTITION_EPOCH));
        assertThat(p.replicas()).isEqualTo(before.replicas());
    }

    @Test
    void fencingChangesEveryPartitionOfTheBrokerInOneOrderedBatch() {
        // Given: broker 1 leads t-0 and u-1, follows t-1, and is not in u-0's ISR.
        MetadataImage image = live(1, 2, 3);
        image = withTopic(image, "u", U,
                partition(0, List.of(2, 3, 1), List.of(2, 3), 2, 0, 0),
                partition(1, List.of(1, 2, 3), List.of(1), 1, 4, 9));
        image = withTopic(image, "t", T,
                partition(0, List.of(1, 2, 3), List.of(1, 2, 3), 1, 0, 0),
                partition(1, List.of(3, 1, 2), List.of(3, 1, 2), 3, 2, 3));
        long epoch = image.brokers().get(1).brokerEpoch();

        // When
        ControllerResult<Void> result = ControllerDecisions.fenceBroker(image, 1);
        MetadataImage after = replay(image, result);

        // Then: the broker first, then topics by name, partitions by index.
        assertThat(result.failed()).isFalse();
        assertThat(result.records()).hasSize(4);
        assertThat(result.records().get(0).getFenceBroker().getBrokerEpoch()).isEqualTo(epoch);
        assertThat(result.records().subList(1, 4)).extracting(r -> Uuids.fromProto(r.getPartitionChange()
                .getTopicId()) + "-" + r.getPartitionChange().getPartition())
                .containsExactly(T + "-0", T + "-1", U + "-1");
        assertThat(after.brokers().get(1).fenced()).isTrue();
        assertThat(after.topic("t").partitions()).containsExactly(
                partition(0, List.of(1, 2, 3), List.of(2, 3), 2, 1, 1),
                partition(1, List.of(3, 1, 2), List.of(3, 2), 3, 2, 4));
        assertThat(after.topic("u").partitions()).containsExactly(
                partition(0, List.of(2, 3, 1), List.of(2, 3), 2, 0, 0),
                partition(1, List.of(1, 2, 3), List.of(1), NO_LEADER, 5, 10));
    }

    @Test
    void brokersFencedTogetherHandNoPartitionToEachOther() {
        // Given: brokers 1 and 2 expire together; broker 1 leads t-0, broker 2 comes first after it.
        MetadataImage image = withTopic(live(1, 2, 3), "t", T,
                partition(0, List.of(1, 2, 3), List.of(1, 2, 3), 1, 0, 0),
                partition(1, List.of(1, 2), List.of(1, 2), 1, 0, 0));

        // When
        MetadataImage after = replay(image, ControllerDecisions.fenceBrokers(image, List.of(1, 2)));

        // Then: t-0 goes to broker 3, not to broker 2 (fenced in the same batch); t-1 has no live ISR member left.
        assertThat(after.topic("t").partition(0).leader()).isEqualTo(3);
        assertThat(after.topic("t").partition(0).isr()).containsExactly(3);
        assertThat(after.topic("t").partition(1).leader()).isEqualTo(NO_LEADER);
        assertThat(after.brokers().get(1).fenced()).isTrue();
        assertThat(after.brokers().get(2).fenced()).isTrue();
    }

    @Test
    void fencingAFencedOrUnknownBrokerWritesNothing() {
        MetadataImage image = withTopic(live(1, 2), "t", T, partition(0, List.of(1, 2), List.of(1), 1, 0, 0));
        MetadataImage fenced = replay(image, ControllerDecisions.fenceBroker(image, 1));

        ControllerResult<Void> again = ControllerDecisions.fenceBroker(fenced, 1);
        ControllerResult<Void> unknown = ControllerDecisions.fenceBroker(fenced, 9);

        assertThat(again.failed()).isFalse();
        assertThat(again.records()).isEmpty();
        assertThat(unknown.failed()).isFalse();
        assertThat(unknown.records()).isEmpty();
    }

    @Test
    void unfencingElectsTheBrokerWhereItIsTheLastIsrMemberOfAnOfflinePartition() {
        // Given: t-0 went offline with broker 1 as its last ISR member, t-1 with broker 2, t-2 kept leader 3.
        MetadataImage image = withTopic(live(1, 2, 3), "t", T,
                partition(0, List.of(2, 1), List.of(2, 1), 2, 0, 0),
                partition(1, List.of(2, 3), List.of(2), 2, 0, 0),
                partition(2, List.of(3, 1), List.of(3, 1), 3, 0, 0));
        image = replay(image, ControllerDecisions.fenceBroker(image, 2));
        image = replay(image, ControllerDecisions.fenceBroker(image, 1));
        assertThat(image.topic("t").partitions()).extracting(PartitionImage::leader)
                .containsExactly(NO_LEADER, NO_LEADER, 3);

        // When
        ControllerResult<Void> result = ControllerDecisions.unfenceBrokerAndElect(image, 1);
        MetadataImage after = replay(image, result);

        // Then
        assertThat(after.brokers().get(1).fenced()).isFalse();
        assertThat(result.records()).extracting(MetadataRecord::getRecordCase)
                .containsExactly(RecordCase.UNFENCE_BROKER, RecordCase.PARTITION_CHANGE);
        PartitionImage t0 = after.topic("t").partition(0);
        assertThat(t0.leader()).isEqualTo(1);
        assertThat(t0.leaderEpoch()).isEqualTo(image.topic("t").partition(0).leaderEpoch() + 1);
        assertThat(t0.partitionEpoch()).isEqualTo(image.topic("t").partition(0).partitionEpoch() + 1);
        assertThat(t0.isr()).containsExactly(1);
        assertThat(after.topic("t").partition(1)).isEqualTo(image.topic("t").partition(1));
        assertThat(after.topic("t").partition(2)).isEqualTo(image.topic("t").partition(2));
    }

    @Test
    void unfencingAnUnregisteredBrokerIsAnInvalidRequest() {
        assertThat(ControllerDecisions.unfenceBrokerAndElect(live(1), 2).error())
                .isEqualTo(ControllerError.INVALID_REQUEST);
        assertThat(ControllerDecisions.unfenceBroker(live(1), 2).error()).isEqualTo(ControllerError.INVALID_REQUEST);
    }

    /**
     * "inc-1-restarted": broker 1 restarted faster than its session timeout. "inc-1": the same process lost its
     * epoch; its new registration is fenced all the same, so it must not keep leading.
     */
    @ParameterizedTest
    @ValueSource(strings = {"inc-1-restarted", "inc-1"})
    void liveLeaderIsFencedBeforeItRegistersAgain(String incarnationId) {
        // Given: broker 1 (incarnation "inc-1") leads t-0 and follows t-1.
        MetadataImage image = withTopic(live(1, 2, 3), "t", T,
                partition(0, List.of(1, 2, 3), List.of(1, 2, 3), 1, 0, 0),
                partition(1, List.of(2, 1, 3), List.of(2, 1, 3), 2, 0, 0));
        long oldEpoch = image.brokers().get(1).brokerEpoch();

        // When
        ControllerResult<Long> result = ControllerDecisions.registerBrokerIncarnation(image, 1, incarnationId,
                Images.endpoints(1), "rack-a");
        MetadataImage after = replay(image, result);

        // Then
        assertThat(result.records()).extracting(MetadataRecord::getRecordCase).containsExactly(
                RecordCase.FENCE_BROKER, RecordCase.PARTITION_CHANGE, RecordCase.PARTITION_CHANGE,
                RecordCase.REGISTER_BROKER);
        assertThat(result.records().get(0).getFenceBroker().getBrokerEpoch()).isEqualTo(oldEpoch);
        BrokerRegistration registration = after.brokers().get(1);
        assertThat(registration.fenced()).isTrue();
        assertThat(registration.incarnationId()).isEqualTo(incarnationId);
        assertThat(registration.rack()).isEqualTo("rack-a");
        assertThat(registration.brokerEpoch()).isEqualTo(after.offset()).isGreaterThan(oldEpoch);
        assertThat(after.topic("t").partitions()).containsExactly(
                partition(0, List.of(1, 2, 3), List.of(2, 3), 2, 1, 1),
                partition(1, List.of(2, 1, 3), List.of(2, 3), 2, 0, 1));
    }

    @Test
    void registrationOfAFencedOrUnknownBrokerOnlyRegisters() {
        MetadataImage image = withTopic(live(1, 2), "t", T, partition(0, List.of(1, 2), List.of(1, 2), 1, 0, 0));
        MetadataImage fenced = replay(image, ControllerDecisions.fenceBroker(image, 2));
        MetadataImage neverUnfenced = Images.registered(image, 3);

        List<ControllerResult<Long>> results = List.of(
                // a retry from a process whose first registration answer was lost
                ControllerDecisions.registerBrokerIncarnation(neverUnfenced, 3, "inc-3", Images.endpoints(3), null),
                // a new process of a broker already fenced
                ControllerDecisions.registerBrokerIncarnation(fenced, 2, "inc-2-b", Images.endpoints(2), null),
                // a broker never seen
                ControllerDecisions.registerBrokerIncarnation(image, 7, "inc-7", Images.endpoints(7), null));

        assertThat(results).allSatisfy(r -> {
            assertThat(r.failed()).isFalse();
            assertThat(r.response()).isNull();
            assertThat(r.records()).extracting(MetadataRecord::getRecordCase)
                    .containsExactly(RecordCase.REGISTER_BROKER);
        });
    }

    @Test
    void registrationWithoutIncarnationOrWithANegativeIdIsAnInvalidRequest() {
        assertThat(ControllerDecisions.registerBrokerIncarnation(live(1), 2, "", Images.endpoints(2), null).error())
                .isEqualTo(ControllerError.INVALID_REQUEST);
        assertThat(ControllerDecisions.registerBrokerIncarnation(live(1), -1, "x", Images.endpoints(2), null)
                .error()).isEqualTo(ControllerError.INVALID_REQUEST);
    }

    @Test
    void electLeadersBringsBackOfflinePartitionsWithALiveIsrMember() {
        // Given: both partitions go offline; broker 1 then comes back through the path that elects nothing.
        MetadataImage image = withTopic(live(1, 2, 3), "t", T,
                partition(0, List.of(3, 1), List.of(1), 1, 0, 0),
                partition(1, List.of(2, 3), List.of(2), 2, 0, 0),
                partition(2, List.of(3, 2), List.of(3, 2), 3, 0, 0));
        image = replay(image, ControllerDecisions.fenceBroker(image, 1));
        image = replay(image, ControllerDecisions.fenceBroker(image, 2));
        image = replay(image, ControllerDecisions.unfenceBroker(image, 1));
        assertThat(image.topic("t").partitions()).extracting(PartitionImage::leader)
                .containsExactly(NO_LEADER, NO_LEADER, 3);

        // When
        ControllerResult<Void> result = ControllerDecisions.electLeaders(image);
        MetadataImage after = replay(image, result);

        // Then: t-0 gets broker 1 back; t-1's only ISR member is fenced, so it stays offline.
        assertThat(result.records()).hasSize(1);
        assertThat(after.topic("t").partitions()).containsExactly(
                partition(0, List.of(3, 1), List.of(1), 1, 2, 2),
                partition(1, List.of(2, 3), List.of(2), NO_LEADER, 1, 1),
                partition(2, List.of(3, 2), List.of(3), 3, 0, 1));
        assertThat(ControllerDecisions.electLeaders(after).records()).isEmpty();
    }

    @Test
    void electLeadersPicksTheFirstLiveIsrMemberInReplicaOrder() {
        // Given: an offline partition whose ISR still names several brokers, only some of them live.
        MetadataImage image = Images.fencedOnly(live(1, 2, 3, 4), 2);
        image = withTopic(image, "t", T, partition(0, List.of(2, 4, 3, 1), List.of(1, 3, 2), NO_LEADER, 3, 3));

        MetadataImage after = replay(image, ControllerDecisions.electLeaders(image));

        assertThat(after.topic("t").partition(0))
                .isEqualTo(partition(0, List.of(2, 4, 3, 1), List.of(1, 3, 2), 3, 4, 4));
    }
}
