package io.tributary.node.group;

import static io.tributary.node.group.GroupTestSupport.JOIN_V;
import static io.tributary.node.group.GroupTestSupport.LEAVE_V;
import static io.tributary.node.group.GroupTestSupport.SESSION_MS;
import static io.tributary.node.group.GroupTestSupport.assign;
import static io.tributary.node.group.GroupTestSupport.coordinator;
import static io.tributary.node.group.GroupTestSupport.done;
import static io.tributary.node.group.GroupTestSupport.error;
import static io.tributary.node.group.GroupTestSupport.heartbeat;
import static io.tributary.node.group.GroupTestSupport.join;
import static io.tributary.node.group.GroupTestSupport.memberIds;
import static io.tributary.node.group.GroupTestSupport.subscription;
import static io.tributary.node.group.GroupTestSupport.sync;
import static io.tributary.node.group.GroupTestSupport.syncNow;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.common.message.DescribeGroupsRequestData;
import org.apache.kafka.common.message.JoinGroupResponseData;
import org.apache.kafka.common.message.LeaveGroupRequestData;
import org.apache.kafka.common.message.ListGroupsRequestData;
import org.apache.kafka.common.message.SyncGroupResponseData;
import org.apache.kafka.common.protocol.Errors;
import org.junit.jupiter.api.Test;

class GroupCoordinatorTest {

    private static final String G = "g";

    /** Two dynamic members in a Stable generation 1: A (leader) and B; time is 200. */
    private record TwoMembers(GroupCoordinator c, String a, String b) {
    }

    private static TwoMembers stableGroupOfTwo() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = memberIds(c, G, 2, 0);
        CompletableFuture<JoinGroupResponseData> ja = c.joinGroup(join(G, ids.get(0), null, subscription("t")),
                JOIN_V, "client0", "/h", 0);
        CompletableFuture<JoinGroupResponseData> jb = c.joinGroup(join(G, ids.get(1), null, subscription("t")),
                JOIN_V, "client1", "/h", 0);
        c.onTick(100); // a member joined during the delay: wait one more delay
        assertThat(ja).isNotDone();
        c.onTick(200);
        assertThat(done(ja).generationId()).isEqualTo(1);
        CompletableFuture<SyncGroupResponseData> sb = c.syncGroup(sync(G, ids.get(1), 1, List.of()), (short) 5, 200);
        syncNow(c, sync(G, ids.get(0), 1, List.of(assign(ids.get(0), "A"), assign(ids.get(1), "B"))), 200);
        assertThat(done(sb).assignment()).isEqualTo("B".getBytes());
        return new TwoMembers(c, ids.get(0), ids.get(1));
    }

    @Test
    void twoMembersJoinOneGenerationAndOnlyTheLeaderGetsTheMembers() {
        // Given a new group with an initial rebalance delay
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        List<String> ids = memberIds(c, G, 2, 0);

        // When both join within the delay
        CompletableFuture<JoinGroupResponseData> ja = c.joinGroup(join(G, ids.get(0), null, subscription("t")),
                JOIN_V, "client0", "/h", 0);
        CompletableFuture<JoinGroupResponseData> jb = c.joinGroup(join(G, ids.get(1), null, subscription("t")),
                JOIN_V, "client1", "/h", 50);
        assertThat(c.groupState(G)).isEqualTo("PreparingRebalance");
        c.onTick(100);
        c.onTick(200);

        // Then one generation, the first joiner leads and alone sees the members
        JoinGroupResponseData a = done(ja);
        JoinGroupResponseData b = done(jb);
        assertThat(error(a.errorCode())).isEqualTo(Errors.NONE);
        assertThat(a.generationId()).isEqualTo(1).isEqualTo(b.generationId());
        assertThat(a.leader()).isEqualTo(ids.get(0)).isEqualTo(b.leader());
        assertThat(a.protocolName()).isEqualTo("range");
        assertThat(a.members()).extracting(JoinGroupResponseData.JoinGroupResponseMember::memberId)
                .containsExactly(ids.get(0), ids.get(1));
        assertThat(b.members()).isEmpty();
        assertThat(c.groupState(G)).isEqualTo("CompletingRebalance");
    }

    @Test
    void syncDistributesTheLeadersAssignmentToEveryMember() {
        TwoMembers g = stableGroupOfTwo();
        GroupCoordinator c = g.c();
        assertThat(c.groupState(G)).isEqualTo("Stable");
        assertThat(syncNow(c, sync(G, g.a(), 1, List.of()), 300).assignment()).isEqualTo("A".getBytes());
        // the leader's sync produced a snapshot to persist
        assertThat(c.takeRecords()).singleElement().isInstanceOf(GroupRecord.GroupMetadataRecord.class);
        // a stale generation is refused
        assertThat(error(syncNow(c, sync(G, g.a(), 0, List.of()), 300).errorCode()))
                .isEqualTo(Errors.ILLEGAL_GENERATION);
        assertThat(error(syncNow(c, sync(G, "nobody", 1, List.of()), 300).errorCode()))
                .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        assertThat(error(syncNow(c, sync(G, g.a(), 1, List.of()).setProtocolName("roundrobin"), 300).errorCode()))
                .isEqualTo(Errors.INCONSISTENT_GROUP_PROTOCOL);
    }

    @Test
    void sessionExpiryTriggersARebalanceAndHeartbeatsAskToRejoin() {
        // Given a stable group where only A heartbeats
        TwoMembers g = stableGroupOfTwo();
        GroupCoordinator c = g.c();
        assertThat(error(c.heartbeat(heartbeat(G, g.a(), 1), 5_000).errorCode())).isEqualTo(Errors.NONE);

        // When B's session (10 s from its sync at 200) runs out
        c.onTick(10_199);
        assertThat(c.groupState(G)).isEqualTo("Stable");
        c.onTick(10_200);

        // Then B is gone, A is asked to rejoin, and A's rejoin completes generation 2 alone
        assertThat(c.groupState(G)).isEqualTo("PreparingRebalance");
        assertThat(error(c.heartbeat(heartbeat(G, g.a(), 1), 10_300).errorCode()))
                .isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        assertThat(error(c.heartbeat(heartbeat(G, g.b(), 1), 10_300).errorCode()))
                .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        JoinGroupResponseData a = done(c.joinGroup(join(G, g.a(), null, subscription("t")), JOIN_V, "client0", "/h",
                10_400));
        assertThat(a.generationId()).isEqualTo(2);
        assertThat(a.members()).extracting(JoinGroupResponseData.JoinGroupResponseMember::memberId)
                .containsExactly(g.a());
    }

    @Test
    void leaveTriggersARebalance() {
        TwoMembers g = stableGroupOfTwo();
        GroupCoordinator c = g.c();
        var response = c.leaveGroup(new LeaveGroupRequestData().setGroupId(G).setMembers(List.of(
                new LeaveGroupRequestData.MemberIdentity().setMemberId(g.b()),
                new LeaveGroupRequestData.MemberIdentity().setMemberId("ghost"))), LEAVE_V, 300);
        assertThat(response.members()).extracting(m -> error(m.errorCode()))
                .containsExactly(Errors.NONE, Errors.UNKNOWN_MEMBER_ID);
        assertThat(c.groupState(G)).isEqualTo("PreparingRebalance");
        assertThat(error(c.heartbeat(heartbeat(G, g.a(), 1), 400).errorCode())).isEqualTo(Errors.REBALANCE_IN_PROGRESS);
        assertThat(done(c.joinGroup(join(G, g.a(), null, subscription("t")), JOIN_V, "client0", "/h", 500))
                .generationId()).isEqualTo(2);
        // v0-2: one member, its error at the top level
        assertThat(error(c.leaveGroup(new LeaveGroupRequestData().setGroupId(G).setMemberId("ghost"), (short) 1, 600)
                .errorCode())).isEqualTo(Errors.UNKNOWN_MEMBER_ID);
    }

    @Test
    void staticMemberRejoinKeepsTheGroupAndItsAssignment() {
        // Given a stable group of two static members
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        var j1 = c.joinGroup(join(G, "", "i1", subscription("t")), JOIN_V, "c1", "/h", 0);
        var j2 = c.joinGroup(join(G, "", "i2", subscription("t")), JOIN_V, "c2", "/h", 0);
        c.onTick(100);
        c.onTick(200);
        String m1 = done(j1).memberId();
        String m2 = done(j2).memberId();
        var s2 = c.syncGroup(sync(G, m2, 1, List.of()).setGroupInstanceId("i2"), (short) 5, 200);
        syncNow(c, sync(G, m1, 1, List.of(assign(m1, "one"), assign(m2, "two"))).setGroupInstanceId("i1"), 200);
        assertThat(done(s2).assignment()).isEqualTo("two".getBytes());

        // When i2 restarts and rejoins with an unknown member id and the same subscription
        JoinGroupResponseData rejoin = done(c.joinGroup(join(G, "", "i2", subscription("t")), JOIN_V, "c2", "/h",
                1_000));

        // Then no rebalance: same generation, a new member id, the old one fenced, the assignment kept
        assertThat(error(rejoin.errorCode())).isEqualTo(Errors.NONE);
        assertThat(rejoin.generationId()).isEqualTo(1);
        assertThat(rejoin.memberId()).isNotEqualTo(m2).startsWith("i2-");
        assertThat(c.groupState(G)).isEqualTo("Stable");
        assertThat(error(c.heartbeat(heartbeat(G, m2, 1).setGroupInstanceId("i2"), 1_100).errorCode()))
                .isEqualTo(Errors.FENCED_INSTANCE_ID);
        assertThat(syncNow(c, sync(G, rejoin.memberId(), 1, List.of()).setGroupInstanceId("i2"), 1_100).assignment())
                .isEqualTo("two".getBytes());
        assertThat(error(c.heartbeat(heartbeat(G, m1, 1).setGroupInstanceId("i1"), 1_200).errorCode()))
                .isEqualTo(Errors.NONE);
        assertThat(c.takeRecords()).last().isInstanceOfSatisfying(GroupRecord.GroupMetadataRecord.class,
                r -> assertThat(r.members()).extracting(GroupRecord.MemberRecord::memberId)
                        .contains(rejoin.memberId()));

        // And a rejoin with a changed subscription does rebalance
        var changed = c.joinGroup(join(G, "", "i2", subscription("t", "u")), JOIN_V, "c2", "/h", 2_000);
        assertThat(changed).isNotDone();
        assertThat(c.groupState(G)).isEqualTo("PreparingRebalance");
    }

    @Test
    void joinErrorsFollowKafka() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(0)
                .withGroupMaxSize(1));
        // an unknown member id for a group that does not exist
        assertThat(error(done(c.joinGroup(join(G, "x", null, subscription("t")), JOIN_V, "c", "/h", 0)).errorCode()))
                .isEqualTo(Errors.UNKNOWN_MEMBER_ID);
        // v3 joins directly (no KIP-394 round trip); a delay of 0 completes at once
        JoinGroupResponseData first = done(c.joinGroup(join(G, "", null, subscription("t")), (short) 3, "c", "/h", 0));
        assertThat(first.generationId()).isEqualTo(1);
        // the group is full
        assertThat(error(done(c.joinGroup(join(G, "", null, subscription("t")), (short) 3, "d", "/h", 0))
                .errorCode())).isEqualTo(Errors.GROUP_MAX_SIZE_REACHED);
        // another protocol type (in a group with room)
        GroupCoordinator roomy = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(0));
        done(roomy.joinGroup(join(G, "", null, subscription("t")), (short) 3, "c", "/h", 0));
        assertThat(error(done(roomy.joinGroup(join(G, "", null, subscription("t")).setProtocolType("connect"),
                JOIN_V, "c", "/h", 0)).errorCode())).isEqualTo(Errors.INCONSISTENT_GROUP_PROTOCOL);
        // a session timeout out of bounds
        assertThat(error(done(c.joinGroup(join("h", "", null, subscription("t")).setSessionTimeoutMs(10), JOIN_V,
                "c", "/h", 0)).errorCode())).isEqualTo(Errors.INVALID_SESSION_TIMEOUT);
    }

    /** Issue 12: KIP-394 member ids handed out but not used yet count against group.max.size. */
    @Test
    void pendingMemberIdsCountAgainstTheGroupMaxSize() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(0)
                .withGroupMaxSize(3));
        // three new members are each handed an id (MEMBER_ID_REQUIRED) and do not come back with it
        for (int i = 0; i < 3; i++) {
            assertThat(error(done(c.joinGroup(join(G, "", null, subscription("t")), JOIN_V, "c" + i, "/h", 0))
                    .errorCode())).isEqualTo(Errors.MEMBER_ID_REQUIRED);
        }
        // a fourth asking for an id is refused: the group is full of pending ids
        assertThat(error(done(c.joinGroup(join(G, "", null, subscription("t")), JOIN_V, "c3", "/h", 0))
                .errorCode())).isEqualTo(Errors.GROUP_MAX_SIZE_REACHED);
        // once the pending ids expire (their session timeout), a new member is handed an id again
        c.onTick(SESSION_MS + 1);
        assertThat(error(done(c.joinGroup(join(G, "", null, subscription("t")), JOIN_V, "c4", "/h", SESSION_MS + 1))
                .errorCode())).isEqualTo(Errors.MEMBER_ID_REQUIRED);
    }

    @Test
    void describeAndListReportKafkasStateNames() {
        GroupCoordinator c = coordinator(GroupCoordinatorConfig.defaults().withInitialRebalanceDelayMs(100));
        String a = memberIds(c, G, 1, 0).get(0);
        var ja = c.joinGroup(join(G, a, null, subscription("t")), JOIN_V, "client0", "/10.0.0.1", 0);
        assertThat(describe(c, G).groupState()).isEqualTo("PreparingRebalance");
        c.onTick(100);
        assertThat(describe(c, G).groupState()).isEqualTo("CompletingRebalance");
        syncNow(c, sync(G, a, 1, List.of(assign(a, "A"))), 100);
        var described = describe(c, G);
        assertThat(described.groupState()).isEqualTo("Stable");
        assertThat(described.protocolType()).isEqualTo("consumer");
        assertThat(described.protocolData()).isEqualTo("range");
        assertThat(described.members()).singleElement().satisfies(m -> {
            assertThat(m.memberId()).isEqualTo(a);
            assertThat(m.clientHost()).isEqualTo("/10.0.0.1");
            assertThat(m.memberAssignment()).isEqualTo("A".getBytes());
        });
        assertThat(c.describeGroups(new DescribeGroupsRequestData().setGroups(List.of("nope")), (short) 5)
                .groups().get(0).groupState()).isEqualTo("Dead");
        assertThat(error(c.describeGroups(new DescribeGroupsRequestData().setGroups(List.of("nope")), (short) 6)
                .groups().get(0).errorCode())).isEqualTo(Errors.GROUP_ID_NOT_FOUND);

        c.leaveGroup(new LeaveGroupRequestData().setGroupId(G).setMemberId(a), (short) 1, 200);
        assertThat(c.groupState(G)).isEqualTo("Empty");
        assertThat(c.listGroups(new ListGroupsRequestData()).groups()).singleElement()
                .satisfies(l -> assertThat(l.groupState()).isEqualTo("Empty"));
        assertThat(c.listGroups(new ListGroupsRequestData().setStatesFilter(List.of("stable"))).groups()).isEmpty();
        assertThat(c.listGroups(new ListGroupsRequestData().setStatesFilter(List.of("empty"))).groups()).hasSize(1);
        assertThat(c.listGroups(new ListGroupsRequestData().setTypesFilter(List.of("consumer"))).groups()).isEmpty();
    }

    private static org.apache.kafka.common.message.DescribeGroupsResponseData.DescribedGroup describe(
            GroupCoordinator c, String group) {
        return c.describeGroups(new DescribeGroupsRequestData().setGroups(List.of(group)), (short) 5).groups().get(0);
    }
}
