package io.tributary.node.group;

import static io.tributary.node.group.ConsumerGroupTestSupport.HEARTBEAT_V;
import static io.tributary.node.group.ConsumerGroupTestSupport.assigned;
import static io.tributary.node.group.ConsumerGroupTestSupport.count;
import static io.tributary.node.group.ConsumerGroupTestSupport.heartbeat;
import static io.tributary.node.group.ConsumerGroupTestSupport.join;
import static org.assertj.core.api.Assertions.assertThat;

import io.tributary.node.group.ConsumerGroupRecord.MemberState;
import io.tributary.node.group.ConsumerGroupTestSupport.Log;
import io.tributary.node.group.ConsumerGroupTestSupport.Topics;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatRequestData;
import org.apache.kafka.common.message.ConsumerGroupHeartbeatResponseData;
import org.apache.kafka.common.message.DeleteGroupsRequestData;
import org.apache.kafka.common.message.JoinGroupRequestData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.OffsetCommitRequestData;
import org.apache.kafka.common.message.OffsetFetchRequestData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;

/** The KIP-848 consumer group core: ConsumerGroupHeartbeat, reconciliation, timeouts, offsets, persistence. */
class ConsumerGroupCoordinatorTest {

    private static final String G = "g";
    private final Topics topics = new Topics().add("t", 6);
    private final GroupCoordinator c = ConsumerGroupTestSupport.coordinator();
    private final Log log = new Log();
    private long now = 1_000;

    private ConsumerGroupHeartbeatResponseData send(ConsumerGroupHeartbeatRequestData req) {
        ConsumerGroupHeartbeatResponseData response = c.consumerGroupHeartbeat(req, HEARTBEAT_V, "client", "/host",
                topics, now);
        log.append(c.takeRecords());
        return response;
    }

    private Uuid t() {
        return topics.id("t");
    }

    @Test
    void aSingleMemberGetsEveryPartitionAtEpochOne() {
        // When
        ConsumerGroupHeartbeatResponseData r = send(join(G, "a", "t"));

        // Then
        assertThat(r.errorCode()).isZero();
        assertThat(r.memberId()).isEqualTo("a");
        assertThat(r.memberEpoch()).isEqualTo(1);
        assertThat(r.heartbeatIntervalMs()).isEqualTo(ConsumerGroupConfig.DEFAULT_HEARTBEAT_INTERVAL_MS);
        assertThat(assigned(r)).isEqualTo(Map.of(t(), Set.of(0, 1, 2, 3, 4, 5)));
        assertThat(c.groupState(G)).isEqualTo("Stable");
    }

    @Test
    void partitionsMoveToANewMemberOnlyAfterTheirOwnerRevokedThem() {
        // Given: a owns all six
        ConsumerGroupHeartbeatResponseData a = send(join(G, "a", "t"));
        SortedMap<Uuid, SortedSet<Integer>> aOwns = assigned(a);

        // When: b joins
        ConsumerGroupHeartbeatResponseData b = send(join(G, "b", "t"));

        // Then: b is at the new epoch but gets nothing yet: every partition is still a's
        assertThat(b.memberEpoch()).isEqualTo(2);
        assertThat(count(assigned(b))).isZero();
        assertThat(c.groupState(G)).isEqualTo("Reconciling");

        // When: a heartbeats still owning all six
        ConsumerGroupHeartbeatResponseData a2 = send(heartbeat(G, "a", 1, aOwns));

        // Then: a keeps three, stays at epoch 1 and must revoke the others; b still gets nothing
        assertThat(a2.memberEpoch()).isEqualTo(1);
        assertThat(count(assigned(a2))).isEqualTo(3);
        assertThat(c.consumerGroup(G).members.get("a").current.state()).isEqualTo(MemberState.UNREVOKED_PARTITIONS);
        assertThat(count(assigned(send(heartbeat(G, "b", 2, Map.of()))))).isZero();

        // When: a acknowledges the revocation
        ConsumerGroupHeartbeatResponseData a3 = send(heartbeat(G, "a", 1, assigned(a2)));

        // Then: a is at epoch 2, and b gets the three a gave up
        assertThat(a3.memberEpoch()).isEqualTo(2);
        ConsumerGroupHeartbeatResponseData b3 = send(heartbeat(G, "b", 2, Map.of()));
        assertThat(count(assigned(b3))).isEqualTo(3);
        Set<Integer> both = new TreeSet<>(assigned(a2).get(t()));
        both.addAll(assigned(b3).get(t()));
        assertThat(both).containsExactly(0, 1, 2, 3, 4, 5);
        assertThat(c.groupState(G)).isEqualTo("Stable");
    }

    @Test
    void aLeavingMembersPartitionsGoToTheOthers() {
        // Given: a and b share the topic
        stableGroupOfTwo();

        // When: b leaves
        ConsumerGroupHeartbeatResponseData left = send(heartbeat(G, "b", LEAVE, null));

        // Then
        assertThat(left.memberEpoch()).isEqualTo(-1);
        ConsumerGroupHeartbeatResponseData a = send(heartbeat(G, "a", 2, Map.of(t(), Set.of(0, 1, 2))));
        assertThat(a.memberEpoch()).isEqualTo(3);
        assertThat(assigned(a)).isEqualTo(Map.of(t(), Set.of(0, 1, 2, 3, 4, 5)));
    }

    private static final int LEAVE = -1;

    @Test
    void aSilentMemberIsRemovedAfterTheSessionTimeoutAndItsPartitionsReassigned() {
        // Given
        stableGroupOfTwo();

        // When: a heartbeats, b stays silent past the session timeout
        now += ConsumerGroupConfig.DEFAULT_SESSION_TIMEOUT_MS - 1;
        send(heartbeat(G, "a", 2, Map.of(t(), Set.of(0, 1, 2))));
        now += 2;
        log.append(c.onTick(now));

        // Then
        assertThat(c.consumerGroup(G).members.keySet()).containsExactly("a");
        ConsumerGroupHeartbeatResponseData a = send(heartbeat(G, "a", 2, Map.of(t(), Set.of(0, 1, 2))));
        assertThat(count(assigned(a))).isEqualTo(6);
        assertThat(send(heartbeat(G, "b", 2, Map.of())).errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
    }

    @Test
    void aMemberThatDoesNotRevokeWithinItsRebalanceTimeoutIsRemoved() {
        // Given: a must revoke three partitions for b
        SortedMap<Uuid, SortedSet<Integer>> aOwns = assigned(send(join(G, "a", "t")));
        send(join(G, "b", "t"));
        send(heartbeat(G, "a", 1, aOwns));

        // When: a keeps heartbeating with all six past its rebalance timeout
        now += ConsumerGroupTestSupport.REBALANCE_TIMEOUT_MS / 2;
        send(heartbeat(G, "a", 1, aOwns));
        send(heartbeat(G, "b", 2, Map.of()));
        now += ConsumerGroupTestSupport.REBALANCE_TIMEOUT_MS / 2 + 1;
        send(heartbeat(G, "b", 2, Map.of()));
        log.append(c.onTick(now));

        // Then
        assertThat(c.consumerGroup(G).members.keySet()).containsExactly("b");
        assertThat(count(assigned(send(heartbeat(G, "b", 2, Map.of()))))).isEqualTo(6);
    }

    @Test
    void wrongEpochsAreFencedAndUnknownMembersRefused() {
        // Given
        send(join(G, "a", "t"));

        // Then
        assertThat(send(heartbeat(G, "a", 5, null)).errorCode()).isEqualTo(Errors.FENCED_MEMBER_EPOCH.code());
        assertThat(send(heartbeat(G, "zz", 1, null)).errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
        assertThat(send(heartbeat("other", "a", 1, null)).errorCode()).isEqualTo(Errors.UNKNOWN_MEMBER_ID.code());
        assertThat(send(join(G, "a", "t").setServerAssignor("sticky")).errorCode())
                .isEqualTo(Errors.UNSUPPORTED_ASSIGNOR.code());
        assertThat(send(join(G, "", "t")).errorCode()).isEqualTo(Errors.INVALID_REQUEST.code());
        assertThat(send(join(G, "c", "t").setTopicPartitions(null)).errorCode())
                .isEqualTo(Errors.INVALID_REQUEST.code());
    }

    @Test
    void aFencedMemberRejoinsWithEpochZeroAndItsIdFromScratch() {
        // Given: a owns everything, then loses track (fenced)
        send(join(G, "a", "t"));
        assertThat(send(heartbeat(G, "a", 7, null)).errorCode()).isEqualTo(Errors.FENCED_MEMBER_EPOCH.code());

        // When
        ConsumerGroupHeartbeatResponseData r = send(join(G, "a", "t"));

        // Then
        assertThat(r.errorCode()).isZero();
        assertThat(r.memberEpoch()).isEqualTo(2);
        assertThat(count(assigned(r))).isEqualTo(6);
    }

    @Test
    void rangeAssignorGivesContiguousRangesPerTopic() {
        // Given
        topics.add("u", 3);

        // When
        send(join(G, "a", "t", "u").setServerAssignor("range"));
        send(join(G, "b", "t", "u").setServerAssignor("range"));

        // Then
        ConsumerGroup group = c.consumerGroup(G);
        assertThat(group.target("a")).isEqualTo(Map.of(t(), Set.of(0, 1, 2), topics.id("u"), Set.of(0, 1)));
        assertThat(group.target("b")).isEqualTo(Map.of(t(), Set.of(3, 4, 5), topics.id("u"), Set.of(2)));
    }

    @Test
    void uniformAssignorBalancesAndKeepsPartitionsWithTheirOwners() {
        // Given: three members over six partitions
        ConsumerGroupAssignor uniform = ConsumerGroupAssignor.named("uniform");
        Uuid t = t();
        SortedMap<String, Set<Uuid>> three = new TreeMap<>(Map.of("a", Set.of(t), "b", Set.of(t), "c", Set.of(t)));
        var first = uniform.assign(three, Map.of(t, 6), Map.of());

        // When: c goes
        SortedMap<String, Set<Uuid>> two = new TreeMap<>(Map.of("a", Set.of(t), "b", Set.of(t)));
        var second = uniform.assign(two, Map.of(t, 6), first);

        // Then: two each at first; then a and b keep theirs and split c's
        first.values().forEach(a -> assertThat(count(a)).isEqualTo(2));
        assertThat(second.get("a").get(t)).containsAll(first.get("a").get(t)).hasSize(3);
        assertThat(second.get("b").get(t)).containsAll(first.get("b").get(t)).hasSize(3);
    }

    @Test
    void moreTopicPartitionsBumpTheEpochAndAreAssigned() {
        // Given
        send(join(G, "a", "t"));

        // When
        topics.add("t", 8);
        ConsumerGroupHeartbeatResponseData r = send(heartbeat(G, "a", 1, Map.of(t(), Set.of(0, 1, 2, 3, 4, 5))));

        // Then
        assertThat(r.memberEpoch()).isEqualTo(2);
        assertThat(count(assigned(r))).isEqualTo(8);
    }

    @Test
    void offsetCommitsNeedTheMembersCurrentEpoch() {
        // Given
        send(join(G, "a", "t"));

        // Then
        assertThat(commit("a", 1, (short) 9)).isEqualTo(Errors.NONE);
        assertThat(commit("a", 0, (short) 9)).isEqualTo(Errors.STALE_MEMBER_EPOCH);
        assertThat(commit("zz", 1, (short) 9)).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(commit("a", 1, (short) 8)).isEqualTo(Errors.UNSUPPORTED_VERSION);
        assertThat(commit("", -1, (short) 9)).as("a standalone commit while the group has members")
                .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        OffsetFetchRequestData fetch = new OffsetFetchRequestData().setGroups(List.of(
                new OffsetFetchRequestData.OffsetFetchRequestGroup().setGroupId(G).setMemberId("a").setMemberEpoch(0)
                        .setTopics(null)));
        assertThat(c.fetchOffsets(fetch, (short) 9).groups().get(0).errorCode())
                .isEqualTo(Errors.STALE_MEMBER_EPOCH.code());
    }

    /** Commits offset 5 of t-0 (applied as the driver would: appended, then replayed); returns its error. */
    private Errors commit(String memberId, int epoch, short version) {
        OffsetCommitDecision d = c.commitOffsets(new OffsetCommitRequestData().setGroupId(G).setMemberId(memberId)
                .setGenerationIdOrMemberEpoch(epoch).setTopics(List.of(
                        new OffsetCommitRequestData.OffsetCommitRequestTopic().setName("t").setPartitions(List.of(
                                new OffsetCommitRequestData.OffsetCommitRequestPartition().setPartitionIndex(0)
                                        .setCommittedOffset(5))))), version, tp -> true, now);
        d.records().forEach(r -> {
            log.append(List.of(r));
            c.replay(r, log.entries.size() - 1);
        });
        return Errors.forCode(d.response().topics().get(0).partitions().get(0).errorCode());
    }

    @Test
    void classicAndConsumerGroupsCannotShareAnId() throws Exception {
        // Given: a consumer group with a member, and a classic group with a member
        send(join(G, "a", "t"));
        c.joinGroup(GroupTestSupport.join("classic", "", null, GroupTestSupport.subscription("t")),
                GroupTestSupport.JOIN_V, "c", "/h", now);
        c.takeRecords();

        // Then
        JoinGroupRequestData classicJoin = GroupTestSupport.join(G, "", null, GroupTestSupport.subscription("t"));
        assertThat(c.joinGroup(classicJoin, GroupTestSupport.JOIN_V, "c", "/h", now).get().errorCode())
                .isEqualTo(Errors.INCONSISTENT_GROUP_PROTOCOL.code());
        assertThat(send(join("classic", "x", "t")).errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
        assertThat(c.describeGroups(new org.apache.kafka.common.message.DescribeGroupsRequestData()
                .setGroups(List.of(G)), (short) 6).groups().get(0).errorCode())
                .isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
        var listed = c.listGroups(new ListGroupsRequestData());
        assertThat(listed.groups()).anySatisfy(g -> {
            assertThat(g.groupId()).isEqualTo(G);
            assertThat(g.groupType()).isEqualTo("consumer");
            assertThat(g.groupState()).isEqualTo("Stable");
        });
        assertThat(listed.groups().stream().filter(g -> g.groupId().equals(G))).hasSize(1);
    }

    @Test
    void anEmptyConsumerGroupIsDeletedWithTombstonesAndANonEmptyOneIsNot() {
        // Given
        send(join(G, "a", "t"));

        // Then
        var refused = c.deleteGroups(new DeleteGroupsRequestData().setGroupsNames(List.of(G)), now);
        assertThat(refused.response().results().find(G).errorCode()).isEqualTo(Errors.NON_EMPTY_GROUP.code());
        send(heartbeat(G, "a", LEAVE, null));
        var deleted = c.deleteGroups(new DeleteGroupsRequestData().setGroupsNames(List.of(G)), now);
        assertThat(deleted.response().results().find(G).errorCode()).isZero();
        log.append(deleted.records());
        assertThat(c.consumerGroup(G)).isNull();
        assertThat(log.load(ConsumerGroupConfig.defaults(), now).consumerGroup(G)).isNull();
    }

    @Test
    void aSuccessorCoordinatorRebuildsTheGroupFromItsRecords() {
        // Given: a group mid-reconciliation (a must revoke for b)
        SortedMap<Uuid, SortedSet<Integer>> aOwns = assigned(send(join(G, "a", "t")));
        send(join(G, "b", "t"));
        ConsumerGroupHeartbeatResponseData a2 = send(heartbeat(G, "a", 1, aOwns));

        // When: another coordinator loads the records
        GroupCoordinator successor = log.load(ConsumerGroupConfig.defaults(), now);

        // Then: the same state, and the protocol goes on from it
        ConsumerGroup before = c.consumerGroup(G);
        ConsumerGroup after = successor.consumerGroup(G);
        assertThat(after.groupEpoch).isEqualTo(before.groupEpoch);
        assertThat(after.assignmentEpoch).isEqualTo(before.assignmentEpoch);
        assertThat(after.targetAssignment).isEqualTo(before.targetAssignment);
        assertThat(after.partitionEpochs).isEqualTo(before.partitionEpochs);
        assertThat(after.members.keySet()).containsExactlyElementsOf(before.members.keySet());
        before.members.forEach((id, m) -> {
            assertThat(after.members.get(id).current).isEqualTo(m.current);
            assertThat(after.members.get(id).subscription).isEqualTo(m.subscription);
        });
        assertThat(successor.consumerGroupHeartbeat(heartbeat(G, "a", 1, assigned(a2)), HEARTBEAT_V, "client",
                "/host", topics, now).memberEpoch()).isEqualTo(2);
    }

    @Test
    void aStaticMemberThatLeavesForAWhileKeepsItsPartitionsForItsNextIncarnation() {
        // Given: static members a (instance i1) and b
        send(join(G, "a", "t").setInstanceId("i1"));
        send(join(G, "b", "t"));
        stabilize(List.of("a", "b"));
        SortedMap<Uuid, SortedSet<Integer>> aOwned = c.consumerGroup(G).members.get("a").current.assignedPartitions();

        // When: a leaves temporarily and a new incarnation of i1 joins
        ConsumerGroupHeartbeatResponseData left = send(heartbeat(G, "a", -2, null).setInstanceId("i1"));
        assertThat(send(join(G, "a2", "t").setInstanceId("i1")).errorCode()).isZero();

        // Then
        assertThat(left.memberEpoch()).isEqualTo(-2);
        stabilize(List.of("a2", "b"));
        assertThat(c.consumerGroup(G).members.get("a2").current.assignedPartitions()).isEqualTo(aOwned);
        assertThat(send(join(G, "a3", "t").setInstanceId("i1")).errorCode())
                .isEqualTo(Errors.UNRELEASED_INSTANCE_ID.code());
    }

    @Test
    void consumerGroupDescribeShowsEpochsAssignorAndAssignmentsWithTopicNames() {
        // Given
        stableGroupOfTwo();

        // When
        var described = c.describeConsumerGroup(G, topics);

        // Then
        assertThat(described.errorCode()).isZero();
        assertThat(described.groupState()).isEqualTo("Stable");
        assertThat(described.groupEpoch()).isEqualTo(2);
        assertThat(described.assignmentEpoch()).isEqualTo(2);
        assertThat(described.assignorName()).isEqualTo("uniform");
        assertThat(described.members()).hasSize(2).allSatisfy(m -> {
            assertThat(m.memberEpoch()).isEqualTo(2);
            assertThat(m.clientId()).isEqualTo("client");
            assertThat(m.subscribedTopicNames()).containsExactly("t");
            assertThat(m.assignment().topicPartitions()).singleElement()
                    .satisfies(tp -> assertThat(tp.topicName()).isEqualTo("t"))
                    .satisfies(tp -> assertThat(tp.partitions()).hasSize(3));
            assertThat(m.targetAssignment()).isEqualTo(m.assignment());
        });
        assertThat(c.describeConsumerGroup("nope", topics).errorCode()).isEqualTo(Errors.GROUP_ID_NOT_FOUND.code());
    }

    @Test
    void offsetsOfASubscribedTopicCannotBeDeletedWhileTheGroupHasMembers() {
        // Given: a member committed an offset of its topic
        send(join(G, "a", "t"));
        assertThat(commit("a", 1, (short) 9)).isEqualTo(Errors.NONE);

        // When
        var request = new org.apache.kafka.common.message.OffsetDeleteRequestData().setGroupId(G);
        request.topics().add(new org.apache.kafka.common.message.OffsetDeleteRequestData.OffsetDeleteRequestTopic()
                .setName("t").setPartitions(List.of(new org.apache.kafka.common.message.OffsetDeleteRequestData
                        .OffsetDeleteRequestPartition().setPartitionIndex(0))));
        var decision = c.deleteOffsets(request);

        // Then
        assertThat(decision.records()).isEmpty();
        assertThat(decision.response().topics().find("t").partitions().find(0).errorCode())
                .isEqualTo(Errors.GROUP_SUBSCRIBED_TO_TOPIC.code());
    }

    @Test
    void aRegexSubscriptionFollowsTheTopicsItMatches() {
        // Given: a member subscribed by regex to topics named t*
        topics.add("u", 2).add("t2", 2);
        ConsumerGroupHeartbeatResponseData r = send(join(G, "a").setSubscribedTopicNames(null)
                .setSubscribedTopicRegex("t.*"));
        assertThat(r.errorCode()).as(r.errorMessage()).isZero();
        assertThat(assigned(r).keySet()).containsExactlyInAnyOrder(t(), topics.id("t2"));

        // When: a matching topic is created
        topics.add("t3", 1);
        ConsumerGroupHeartbeatResponseData r2 = send(heartbeat(G, "a", 1, assigned(r)));

        // Then: it is assigned too, at a new epoch; a bad regex is refused
        assertThat(r2.memberEpoch()).isEqualTo(2);
        assertThat(assigned(r2).keySet()).containsExactlyInAnyOrder(t(), topics.id("t2"), topics.id("t3"));
        assertThat(send(join(G, "b").setSubscribedTopicNames(null).setSubscribedTopicRegex("t(")).errorCode())
                .isEqualTo(Errors.INVALID_REGULAR_EXPRESSION.code());
    }

    private void stableGroupOfTwo() {
        send(join(G, "a", "t"));
        send(join(G, "b", "t"));
        stabilize(List.of("a", "b"));
        assertThat(c.groupState(G)).isEqualTo("Stable");
        assertThat(c.consumerGroup(G).members.get("a").current.assignedPartitions())
                .isEqualTo(Map.of(t(), Set.of(0, 1, 2)));
    }

    /** Heartbeats of members that own exactly what they were last given, until the group is Stable. */
    private void stabilize(List<String> members) {
        for (int round = 0; round < 5 && !c.groupState(G).equals("Stable"); round++) {
            for (String m : members) {
                ConsumerGroup.Member member = c.consumerGroup(G).members.get(m);
                send(heartbeat(G, m, member.memberEpoch(), member.current.assignedPartitions()));
            }
        }
    }
}
